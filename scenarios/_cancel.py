"""What the cancellation scenarios share: a middleware that cancels a request when its client
leaves, and a count of what it cancelled, so a run can prove the handlers were cancelled.

Neither uvicorn nor Starlette 1.x cancels a plain route's handler when its client
disconnects: the handler runs to its end and its answer goes nowhere. Starlette's
``BaseHTTPMiddleware`` did cancel the app's task on a disconnect until Starlette 0.21
(Kludex/starlette#1715 replaced that with a closed stream), and Starlette's own
``StreamingResponse`` still does it for a stream: both run the app in an anyio task group
and cancel its scope when ``http.disconnect`` arrives. :class:`CancelOnDisconnect` is that
shape as a pure ASGI middleware, the way apps that want abandoned work stopped write it.

An anyio scope's cancellation is level-triggered: every ``await`` inside the scope raises
``CancelledError`` until the scope exits, the cleanup's included (which is what
sqlalchemy/sqlalchemy#12077 and MagicStack/asyncpg#1156 are about).

Each cancellation is counted by place and printed on the target's standard error (leakbench
keeps it in the run's ``logs/`` folder), and ``GET /cancellations`` answers the counts.
"""

from __future__ import annotations

import sys
from collections import Counter

import anyio
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# How the target's log names each cancellation, for a reader (or a test) to count them.
LOG_PREFIX = "leakbench-scenario: cancelled"
# The middleware's own count: requests it cancelled because their client left.
ON_DISCONNECT = "on disconnect"

_counts: Counter[str] = Counter()


def note_cancelled(place: str) -> None:
    """Count one cancellation at ``place`` and say so on standard error."""
    _counts[place] += 1
    print(f"{LOG_PREFIX} {place} ({_counts[place]})", file=sys.stderr, flush=True)


def cancellation_counts() -> dict[str, int]:
    """The cancellations counted so far, by place."""
    return dict(_counts)


class CancelOnDisconnect:
    """Cancel the app's work on a request whose client disconnects before the answer's end.

    The request's body is read first (these routes take none to speak of); then the app runs
    in a task group beside a task that waits for ``http.disconnect``. A disconnect before the
    answer is complete cancels the group's scope, and with it the handler, its dependencies
    and whatever they await. A disconnect after the answer is complete (uvicorn reports one to
    a reader once the answer is sent) cancels nothing: that client did not leave early.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body: list[Message] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # gone before its request was read: nothing to cancel
            body.append(message)
            if not message.get("more_body", False):
                break
        answered = False
        left = anyio.Event()

        async def app_receive() -> Message:
            if body:
                return body.pop(0)
            await left.wait()
            return {"type": "http.disconnect"}

        async def app_send(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                answered = True
            await send(message)

        async with anyio.create_task_group() as group:

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                left.set()
                if not answered:
                    note_cancelled(ON_DISCONNECT)
                    group.cancel_scope.cancel()

            group.start_soon(watch)
            await self.app(scope, app_receive, app_send)
            group.cancel_scope.cancel()  # the app is done: stop watching


def add_cancellations_route(app: FastAPI) -> None:
    """``GET /cancellations``: the counts, for a person checking a running target."""

    @app.get("/cancellations")
    async def cancellations() -> dict[str, int]:
        return cancellation_counts()
