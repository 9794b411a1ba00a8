"""Benchmark-only targets that touch no database.

``app`` is one FastAPI route; ``raw_app`` is a bare ASGI callable, with no
framework at all, so uvicorn alone bounds it: on it the load driver, not
the app, is the bottleneck, which shows the driver's own ceiling next to
wrk's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI

app = FastAPI(title="leakbench trivial target")

_BODY = b'{"ok": true}'
_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(_BODY))]


@app.post("/trivial")
def trivial() -> dict[str, bool]:
    return {"ok": True}


async def raw_app(
    scope: dict[str, Any],
    receive: Callable[[], Awaitable[dict[str, Any]]],
    send: Callable[[dict[str, Any]], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})
