"""A raw ASGI app that answers by what the request carried, for the driver's body tests.

/expect-empty   200 when the request had no body and no body headers, else 422
/expect-json    200 when it carried a JSON body with its content type, else 422
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_BODY_HEADERS = {b"content-length", b"content-type", b"transfer-encoding"}


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    headers = dict(scope["headers"])
    if scope["path"] == "/expect-empty":
        fine = not body and not _BODY_HEADERS & headers.keys()
    else:
        fine = bool(body) and headers.get(b"content-type") == b"application/json"
    await send({"type": "http.response.start", "status": 200 if fine else 422, "headers": []})
    await send({"type": "http.response.body", "body": b""})
