"""Benchmark-only target for clients that leave: no database, bare ASGI.

``/pause`` answers after a 2 ms pause (``/pause?ms=50``: 50 ms), so an
``--abort`` drawn within the observed latency lands before the answer as
often as a real route's would.
``/events`` is a text/event-stream of one event a second for a minute,
stopped when its client leaves: what ``--hold`` keeps open by the thousand.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_BODY = b'{"ok": true}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(_BODY))]
_PAUSE = 0.002
_EVENTS = 60


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    if scope["path"] == "/events":
        await _events(receive, send)
        return
    query = scope.get("query_string", b"")
    pause = int(query[3:]) / 1000 if query.startswith(b"ms=") and query[3:].isdigit() else _PAUSE
    await asyncio.sleep(pause)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})


async def _events(receive: Receive, send: Send) -> None:
    headers = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    gone = asyncio.ensure_future(receive())  # http.disconnect once the client leaves
    for number in range(_EVENTS):
        event = b"data: %d\n\n" % number
        await send({"type": "http.response.body", "body": event, "more_body": True})
        try:
            await asyncio.wait_for(asyncio.shield(gone), 1.0)
        except TimeoutError:
            continue
        return
    gone.cancel()
    await send({"type": "http.response.body", "body": b""})
