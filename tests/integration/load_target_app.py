"""A raw ASGI app for the load driver's tests, run under uvicorn by leakbench's TargetProcess.

Routes (any method):
    /status/<code>   answers <code> with a small JSON body
    /count           counts the request; GET /count/read returns the count
    /slow            answers after 1 s
    /chunked         answers 200 in three chunks (uvicorn frames it chunked)
    /drop            the first request on a connection is answered, then the app
                     raises after 0.1 s, so uvicorn closes the connection; later
                     requests on that connection wait 0.5 s and are never answered
    /wait            answers after 1 s, unless the client leaves first (counted)
    /events?n=N      a text/event-stream of N events (default 100), one every
                     20 ms, stopped (and counted) when the client leaves
    /left/read       how many requests of /wait and /events saw their client leave
    WS /ws           answers each message with three, and counts how sessions end
    /ws/read         the close codes the WebSocket sessions ended with, by count
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

CHUNKS = (b'{"part": 1}', b'{"part": 2}', b'{"part": 3}')
_counted = 0
# Requests whose client left before the end, as the app saw it (http.disconnect).
_left = 0
_EVENTS = 100
# How WebSocket sessions ended, by close code (1000 a clean close, 1006 a drop).
_ws_ends: dict[str, int] = {}
_EVENT_PAUSE = 0.02
_connections_seen: set[tuple[str, int]] = set()


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drain(receive: Receive) -> None:
    while (await receive()).get("more_body"):
        pass


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "http":
        await _http(scope, receive, send)
    elif scope["type"] == "websocket":
        await _websocket(receive, send)


async def _http(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    global _counted  # noqa: PLW0603 - the request count lives as long as the process
    await _drain(receive)
    path: str = scope["path"]
    if path.startswith("/status/"):
        await _answer(send, int(path.rsplit("/", 1)[1]), b'{"ok": true}')
    elif path == "/count":
        _counted += 1
        await _answer(send, 200, b"{}")
    elif path in ("/wait", "/events"):
        query = scope.get("query_string", b"")
        count = int(query.split(b"=", 1)[1]) if query.startswith(b"n=") else _EVENTS
        await (_wait(receive, send) if path == "/wait" else _events(receive, send, count))
    elif path in ("/ws/read", "/left/read"):
        counts = json.dumps(_ws_ends) if path == "/ws/read" else str(_left)
        await _answer(send, 200, counts.encode())
    elif path == "/count/read":
        await _answer(send, 200, str(_counted).encode())
    elif path == "/slow":
        await asyncio.sleep(1.0)
        await _answer(send, 200, b"{}")
    elif path == "/chunked":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for chunk in CHUNKS:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/drop":
        client = tuple(scope["client"])
        if client in _connections_seen:
            await asyncio.sleep(0.5)
            await _answer(send, 200, b"{}")
            return
        _connections_seen.add(client)
        await _answer(send, 200, b"{}")
        await asyncio.sleep(0.1)
        raise RuntimeError("the test app closes this connection (uvicorn does after a raise)")
    else:
        await _answer(send, 404, b"{}")


async def _wait(receive: Receive, send: Send) -> None:
    global _left  # noqa: PLW0603 - the count lives as long as the process
    try:
        message = await asyncio.wait_for(receive(), 1.0)
    except TimeoutError:
        await _answer(send, 200, b"{}")
        return
    if message["type"] == "http.disconnect":
        _left += 1


async def _events(receive: Receive, send: Send, count: int) -> None:
    global _left  # noqa: PLW0603 - the count lives as long as the process
    headers = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    gone = asyncio.ensure_future(receive())  # http.disconnect once the client leaves
    for number in range(count):
        if gone.done():
            _left += 1
            return
        await send(
            {"type": "http.response.body", "body": b"data: %d\n\n" % number, "more_body": True}
        )
        await asyncio.sleep(_EVENT_PAUSE)
    gone.cancel()
    await send({"type": "http.response.body", "body": b""})


async def _websocket(receive: Receive, send: Send) -> None:
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    while True:
        message = await receive()
        if message["type"] == "websocket.disconnect":
            code = str(message.get("code", 1000))
            _ws_ends[code] = _ws_ends.get(code, 0) + 1
            return
        for number in range(3):
            await send({"type": "websocket.send", "text": f"update {number}"})
