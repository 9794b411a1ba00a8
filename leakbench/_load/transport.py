"""A lean httpx2 transport: HTTP/1.1 keep-alive over raw asyncio connections.

``httpx2.AsyncClient`` stays the client API; this ``AsyncBaseTransport``
replaces httpcore2 behind it. httpcore spends most of a request's CPU on
locks, anyio cancel scopes and per-call async-library detection, which on a
2-core machine is CPU taken from the app under test. Here a request is one ``write`` of
pre-encoded bytes and one future resolved by the protocol's
``data_received``.

Scope: ``http://`` and ``https://`` (verified with the system's CAs),
HTTP/1.1 only, one request per connection at a time. Connections are kept
alive, reused (most recently used first) and opened on demand, so the caller
bounds their number; a connection that carried a 5xx answer is closed rather
than reused (see :data:`_CLOSE_AFTER_STATUS`). Bodies are read whole.
The read timeout covers the whole exchange, from writing the request to the
last byte of the response.

A client that leaves (``--abort``, ``--stream-read``, ``--hold``: the
:class:`~leakbench._load.leaving.Leave` given to :meth:`LoadTransport.fetch`)
closes its connection: the server sees a real disconnect, Starlette's
``http.disconnect``, and the exchange raises
:class:`~leakbench._load.leaving.ClientLeft`, which is no error of the
server's nor of the driver's.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from functools import partial
from typing import NamedTuple, Protocol, cast

import httpx2

from leakbench._load.http11 import (
    ParsedResponse,
    ResponseFormatError,
    ResponseReader,
    encode_request,
)
from leakbench._load.leaving import ClientLeft, Leave
from leakbench._settings.clients import StreamLimit

_HTTP11 = {"http_version": b"HTTP/1.1"}
# Fixed requests whose preparation is kept: a mix has one per route.
_MAX_ENCODED = 64
# Set on a request built for one use: its encoding is not kept.
SINGLE_USE = "leakbench_single_use"
_DEFAULT_PORTS = {"http": 80, "https": 443}
# A 5xx answer often means the app raised: Starlette sends the 500, re-raises,
# and uvicorn then closes the connection, so a request written on it in the
# meantime is never answered (measured: about half of a /error load). The next
# request goes on a fresh connection instead; a loopback connect costs far less
# than a lost request.
_CLOSE_AFTER_STATUS = 500
# (scheme, host, port): where a connection goes.
_Origin = tuple[str, str, int]


class ServerDisconnected(httpx2.RemoteProtocolError):
    """The server closed the connection without sending a byte of the response.

    uvicorn does this to a kept-alive connection after an app raised: the
    request written on it meanwhile is never answered. It is not a fault of
    the driver; the next request opens a fresh connection.
    """


class StreamGauge(Protocol):
    """Where the transport counts the streamed answers open right now (the live view's)."""

    streams_open: int
    streams_peak: int


class _Connection(asyncio.Protocol):
    """One TCP connection carrying one request at a time."""

    __slots__ = (
        "_gauge",
        "_leave_timer",
        "_loop",
        "_reader",
        "_stream",
        "_streaming",
        "_timer",
        "_transport",
        "_waiter",
        "closed",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop, gauge: StreamGauge | None) -> None:
        self._loop = loop
        self._reader = ResponseReader()
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[ParsedResponse] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._leave_timer: asyncio.TimerHandle | None = None
        self._stream: StreamLimit | None = None
        self._streaming = False
        self._gauge = gauge
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast("asyncio.Transport", transport)

    def exchange(
        self,
        payload: bytes,
        timeout: float | None,
        *,
        head_request: bool,
        leave: Leave | None = None,
    ) -> asyncio.Future[ParsedResponse]:
        """Write one request; the future resolves to its response."""
        assert self._transport is not None
        stream = leave.stream if leave is not None else None
        self._stream = stream
        self._reader.expect(head_request=head_request, discard_body=stream is not None)
        waiter = self._waiter = self._loop.create_future()
        self._transport.write(payload)
        abort_after = leave.abort_after if leave is not None else None
        if abort_after is not None:
            self._leave_timer = self._loop.call_later(abort_after, self._leave)
            if timeout is not None and abort_after < timeout:
                # The client leaves before the timeout could fire: one timer is enough.
                timeout = None
        if timeout is not None:
            self._timer = self._loop.call_later(timeout, self._time_out, timeout)
        return waiter

    def data_received(self, data: bytes) -> None:
        waiter = self._waiter
        if waiter is None or waiter.done():
            self.abort()  # bytes nobody asked for: the connection is unusable
            return
        try:
            response = self._reader.feed(data)
        except ResponseFormatError as exc:
            self._fail(httpx2.RemoteProtocolError(f"Invalid response: {exc}."))
            return
        if response is not None:
            self._settle()
            if not response.keep_alive:
                self.close()
            waiter.set_result(response)
        elif not self._streaming and self._reader.streaming:
            self._stream_started()
        elif (
            (stream := self._stream) is not None
            and stream.max_bytes is not None
            and self._reader.body_bytes >= stream.max_bytes
        ):
            self._leave()

    def _stream_started(self) -> None:
        """The head of a streamed answer is in: count it open, and leave it when asked."""
        self._streaming = True
        gauge = self._gauge
        if gauge is not None:
            gauge.streams_open += 1
            gauge.streams_peak = max(gauge.streams_peak, gauge.streams_open)
        stream = self._stream
        if stream is None:
            return
        if stream.seconds is not None:
            # An --abort already due sooner stands: the client leaves at the earlier.
            pending = self._leave_timer
            if pending is None or pending.when() - self._loop.time() > stream.seconds:
                if pending is not None:
                    pending.cancel()
                self._leave_timer = self._loop.call_later(stream.seconds, self._leave)
        elif stream.max_bytes is not None and self._reader.body_bytes >= stream.max_bytes:
            self._leave()

    def _leave(self) -> None:
        """The client leaves as asked: close the connection under the request."""
        self._leave_timer = None
        self._fail(ClientLeft(streaming=self._streaming))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        self._settle()
        if not self._reader.received:
            waiter.set_exception(
                ServerDisconnected("The server closed the connection without answering.")
            )
            return
        try:
            waiter.set_result(self._reader.feed_eof())
        except ResponseFormatError as error:
            reason = f" ({exc})" if exc else ""
            waiter.set_exception(
                httpx2.RemoteProtocolError(f"Incomplete response: {error}{reason}.")
            )

    def _time_out(self, timeout: float) -> None:
        self._timer = None
        self._fail(httpx2.ReadTimeout(f"No complete response within {timeout:g} s."))

    def _fail(self, error: Exception) -> None:
        waiter = self._waiter
        self._settle()
        self.abort()
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    def _settle(self) -> None:
        self._waiter = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._leave_timer is not None:
            self._leave_timer.cancel()
            self._leave_timer = None
        if self._streaming:
            self._streaming = False
            if self._gauge is not None:
                self._gauge.streams_open -= 1

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.abort()


class _Prepared(NamedTuple):
    """A request as the transport sends it: its bytes, where, and its timeouts."""

    request: httpx2.Request
    payload: bytes
    origin: _Origin
    read_timeout: float | None
    connect_timeout: float | None
    head: bool


class _ConnectDeadline:
    """Cancels the connecting task after the connect timeout: one timer, no context manager.

    ``asyncio.timeout`` costs about 10 µs per use; a reconnection after every
    client that left (``--abort``) would pay it each time.
    """

    __slots__ = ("expired", "handle", "task")

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        task = asyncio.current_task()
        assert task is not None, "a connection is opened from a task"
        self.task = task
        self.expired = False
        self.handle = loop.call_later(timeout, self._expire)

    def _expire(self) -> None:
        self.expired = True
        self.task.cancel()


class LoadTransport(httpx2.AsyncBaseTransport):
    """An ``httpx2.AsyncBaseTransport`` tuned for driving load at one origin.

    A request object sent many times is prepared once (its bytes, origin and
    timeouts, keyed by identity): do not change a request after sending it.
    One marked single-use (the :data:`SINGLE_USE` extension) is prepared and
    forgotten. The load's workers call :meth:`fetch`, which skips building an
    ``httpx2.Response`` and httpx2's client layers; ``httpx2.AsyncClient``
    works over :meth:`handle_async_request` as over any transport.
    """

    def __init__(
        self, ssl_context: ssl.SSLContext | None = None, gauge: StreamGauge | None = None
    ) -> None:
        self._gauge = gauge
        self._idle: dict[_Origin, list[_Connection]] = {}
        # id(request) -> its preparation, which keeps the request so its id stays unique.
        self._prepared: dict[int, _Prepared] = {}
        self._ssl_context = ssl_context
        self._closed = False
        # The protocol factory of the loop the connections are opened on, made once.
        self._factory: tuple[asyncio.AbstractEventLoop, Callable[[], _Connection]] | None = None

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        parsed = await self.fetch(request)
        return httpx2.Response(
            parsed.status,
            headers=parsed.headers,
            stream=httpx2.ByteStream(parsed.body),
            extensions={**_HTTP11, "reason_phrase": parsed.reason},
        )

    async def fetch(self, request: httpx2.Request, leave: Leave | None = None) -> ParsedResponse:
        """Send ``request`` and read its answer whole; raise ClientLeft if ``leave`` says so."""
        prepared = self._prepared.get(id(request))
        if prepared is None or prepared.request is not request:
            prepared = await self._prepare(request)
        origin = prepared.origin
        connection = self._checkout(origin) or await self._connect(origin, prepared.connect_timeout)
        try:
            parsed = await connection.exchange(
                prepared.payload, prepared.read_timeout, head_request=prepared.head, leave=leave
            )
        except BaseException:
            if not connection.closed:
                connection.abort()  # an unfinished exchange leaves the connection unusable
            raise
        if connection.closed or self._closed or parsed.status >= _CLOSE_AFTER_STATUS:
            connection.close()
        else:
            self._idle.setdefault(origin, []).append(connection)
        return parsed

    async def _prepare(self, request: httpx2.Request) -> _Prepared:
        url = request.url
        if url.scheme not in _DEFAULT_PORTS:
            raise httpx2.UnsupportedProtocol(
                f"leakbench's load transport speaks http:// and https://, not {url.scheme}://."
            )
        body = await request.aread()
        payload = encode_request(
            request.method.encode("ascii"), url.raw_path, request.headers.raw, body
        )
        timeouts = request.extensions.get("timeout", {})
        prepared = _Prepared(
            request,
            payload,
            (url.scheme, url.host, url.port or _DEFAULT_PORTS[url.scheme]),
            timeouts.get("read"),
            timeouts.get("connect"),
            request.method == "HEAD",
        )
        if not request.extensions.get(SINGLE_USE) and len(self._prepared) < _MAX_ENCODED:
            self._prepared[id(request)] = prepared
        return prepared

    def _checkout(self, origin: _Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            # Most recently used first: measured against uvicorn's close-after-raise,
            # this loses fewer requests to closing connections than oldest first.
            connection = idle.pop()
            if not connection.closed:
                return connection
        return None

    async def _connect(self, origin: _Origin, timeout: float | None) -> _Connection:
        scheme, host, port = origin
        loop = asyncio.get_running_loop()
        tls, hostname = (self._tls(), host) if scheme == "https" else (None, None)
        if self._factory is None or self._factory[0] is not loop:
            self._factory = (loop, partial(_Connection, loop, self._gauge))
        deadline = _ConnectDeadline(loop, timeout) if timeout is not None else None
        try:
            _, connection = await loop.create_connection(
                self._factory[1], host, port, ssl=tls, server_hostname=hostname
            )
        except asyncio.CancelledError:
            if deadline is None or not deadline.expired:
                raise
            deadline.task.uncancel()
            raise httpx2.ConnectTimeout(
                f"Connecting to {host}:{port} took more than {timeout:g} s."
            ) from None
        except OSError as exc:
            raise httpx2.ConnectError(f"Cannot connect to {host}:{port}: {exc}.") from None
        finally:
            if deadline is not None:
                deadline.handle.cancel()
        return connection

    def _tls(self) -> ssl.SSLContext:
        # One context for every connection: building one costs about 20 ms.
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection.close()
        self._idle.clear()
