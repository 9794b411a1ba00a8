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

A client that leaves (``--abort``, ``--stream-read``, ``--hold``; set per
request through :data:`LEAVING`) closes its connection: the server sees a
real disconnect, Starlette's ``http.disconnect``, and the exchange raises
:class:`ClientLeft`, which is no error of the server's nor of the driver's.
"""

from __future__ import annotations

import asyncio
import ssl
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol, cast

import httpx2

from leakbench._load.http11 import ParsedResponse, ResponseFormatError, ResponseReader
from leakbench._settings.clients import StreamLimit

_HTTP11 = {"http_version": b"HTTP/1.1"}
# Fixed requests whose bytes are kept: a mix has one per route.
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


class ClientLeft(Exception):
    """The client left before the answer's end, as asked: its connection is closed.

    ``streaming`` is True when it left a streamed answer part way (the head
    had arrived), False when it abandoned the request before the answer.
    """

    def __init__(self, *, streaming: bool) -> None:
        super().__init__("The client left before the end of the answer, as asked.")
        self.streaming = streaming


@dataclass(frozen=True, slots=True)
class Leave:
    """When the client of one request leaves: seconds after sending, and how far into a stream."""

    abort_after: float | None = None
    stream: StreamLimit | None = None


# Set by the load's worker around a request whose client leaves early; read by the transport.
LEAVING: ContextVar[Leave | None] = ContextVar("leakbench_leaving", default=None)


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
        if timeout is not None:
            self._timer = self._loop.call_later(timeout, self._time_out, timeout)
        if leave is not None and leave.abort_after is not None:
            self._leave_timer = self._loop.call_later(leave.abort_after, self._leave)
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


def encode_request(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
) -> bytes:
    """The request's bytes on the wire; a streamed body goes out as one chunk."""
    chunked = any(name.lower() == b"transfer-encoding" for name, _ in headers)
    lines = [b"%s %s HTTP/1.1\r\n" % (method, target)]
    lines += [b"%s: %s\r\n" % (name, value) for name, value in headers]
    lines.append(b"\r\n")
    if chunked:
        if body:
            lines.append(b"%x\r\n%s\r\n" % (len(body), body))
        lines.append(b"0\r\n\r\n")
    else:
        lines.append(body)
    return b"".join(lines)


class LoadTransport(httpx2.AsyncBaseTransport):
    """An ``httpx2.AsyncBaseTransport`` tuned for driving load at one origin.

    A request object sent many times is encoded once (keyed by identity):
    do not change a request after sending it. One marked single-use
    (the :data:`SINGLE_USE` extension) is encoded and forgotten.
    """

    def __init__(
        self, ssl_context: ssl.SSLContext | None = None, gauge: StreamGauge | None = None
    ) -> None:
        self._gauge = gauge
        self._idle: dict[_Origin, list[_Connection]] = {}
        # id(request) -> (request, bytes): the request is kept so its id stays unique.
        self._encoded: dict[int, tuple[httpx2.Request, bytes]] = {}
        self._ssl_context = ssl_context
        self._closed = False

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        url = request.url
        if url.scheme not in _DEFAULT_PORTS:
            raise httpx2.UnsupportedProtocol(
                f"leakbench's load transport speaks http:// and https://, not {url.scheme}://."
            )
        payload = await self._payload(request)
        timeouts = request.extensions.get("timeout", {})
        origin = (url.scheme, url.host, url.port or _DEFAULT_PORTS[url.scheme])
        connection = self._checkout(origin) or await self._connect(origin, timeouts.get("connect"))
        try:
            parsed = await connection.exchange(
                payload,
                timeouts.get("read"),
                head_request=request.method == "HEAD",
                leave=LEAVING.get(),
            )
        except BaseException:
            connection.abort()  # an unfinished exchange leaves the connection unusable
            raise
        if connection.closed or self._closed or parsed.status >= _CLOSE_AFTER_STATUS:
            connection.close()
        else:
            self._idle.setdefault(origin, []).append(connection)
        return httpx2.Response(
            parsed.status,
            headers=parsed.headers,
            stream=httpx2.ByteStream(parsed.body),
            extensions={**_HTTP11, "reason_phrase": parsed.reason},
        )

    async def _payload(self, request: httpx2.Request) -> bytes:
        cached = self._encoded.get(id(request))
        if cached is not None and cached[0] is request:
            return cached[1]
        body = await request.aread()
        payload = encode_request(
            request.method.encode("ascii"), request.url.raw_path, request.headers.raw, body
        )
        if not request.extensions.get(SINGLE_USE) and len(self._encoded) < _MAX_ENCODED:
            self._encoded[id(request)] = (request, payload)
        return payload

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
        try:
            async with asyncio.timeout(timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop, self._gauge),
                    host,
                    port,
                    ssl=tls,
                    server_hostname=hostname,
                )
        except TimeoutError:
            raise httpx2.ConnectTimeout(
                f"Connecting to {host}:{port} took more than {timeout:g} s."
            ) from None
        except OSError as exc:
            raise httpx2.ConnectError(f"Cannot connect to {host}:{port}: {exc}.") from None
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
