"""One WebSocket session of the load, for a ``WS /path`` route, with the websockets library.

A session opens the connection (the HTTP upgrade), sends the route's
message, waits for as many messages as asked, then closes cleanly (a close
frame each way) or drops the connection with no close frame, as a client
gone out of range does. Failures are raised as the httpx2 errors the
driver's worker already counts; a drop as :class:`ClientLeft`, counted
apart like a stream left part way.
"""

from __future__ import annotations

import asyncio

import httpx2
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus, WebSocketException

from leakbench._load.leaving import ClientLeft
from leakbench._settings.clients import WebSocketSpec

# What a session answered: 101, the upgrade; else the status of a refused upgrade.
SWITCHING_PROTOCOLS = 101
# A clean close waits this long at most for the server's close frame.
_CLOSE_TIMEOUT = 2.0


class WebSocketAnswer:
    """A finished session, shaped as the part of an httpx2 response the worker reads."""

    __slots__ = ("status_code", "stream")

    def __init__(self, status_code: int = SWITCHING_PROTOCOLS) -> None:
        self.status_code = status_code
        self.stream: httpx2.ByteStream | None = None

    async def aclose(self) -> None:
        return


def websocket_url(http_url: str) -> str:
    """``ws://`` (or ``wss://``) for the route's ``http://`` (or ``https://``) URL."""
    return "ws" + http_url.removeprefix("http")


async def session(url: str, spec: WebSocketSpec, timeout: float) -> WebSocketAnswer:
    """Run one session to its end; raise ClientLeft when it drops, an httpx2 error on failure."""
    try:
        async with asyncio.timeout(timeout):
            return await _session(url, spec)
    except TimeoutError:
        raise httpx2.ReadTimeout(f"The WebSocket session took more than {timeout:g} s.") from None
    except InvalidStatus as refused:
        # The server answered the upgrade with an HTTP status: an answer, as any other.
        return WebSocketAnswer(refused.response.status_code)
    except OSError as error:
        raise httpx2.ConnectError(f"Cannot open the WebSocket {url}: {error}.") from None
    except WebSocketException as error:
        raise httpx2.RemoteProtocolError(f"The WebSocket {url} failed: {error}.") from None


async def _session(url: str, spec: WebSocketSpec) -> WebSocketAnswer:
    # No compression, no keepalive pings, no proxy: one short session on loopback.
    socket = await connect(
        url,
        compression=None,
        ping_interval=None,
        proxy=None,
        open_timeout=None,
        close_timeout=_CLOSE_TIMEOUT,
        user_agent_header=None,
    )
    try:
        await socket.send(spec.message)
        for _ in range(spec.receive):
            await socket.recv()
    except BaseException:
        socket.transport.abort()
        raise
    if spec.drop:
        socket.transport.abort()  # no close frame: the app sees code 1005 or 1006
        raise ClientLeft(streaming=True)
    await socket.close()
    return WebSocketAnswer()
