"""Two FastAPI apps for the cancellation tests, run under uvicorn by leakbench's TargetProcess.

``plain`` is a handler behind a pass-through ``BaseHTTPMiddleware``, the shape of the
``cancelled-*`` scenarios before they cancelled anything; ``cancelling`` is the same app with
the scenarios' ``CancelOnDisconnect`` outermost. Each counts, on ``GET /counts``, the
handlers of ``POST /work`` (a 0.3 s wait) that finished and those that were cancelled.
"""

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from starlette.middleware.base import BaseHTTPMiddleware

from leakbench.scenarios._cancel import CancelOnDisconnect

WORK_SECONDS = 0.3


class PassThrough(BaseHTTPMiddleware):
    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        return await call_next(request)


def build(*, cancel_on_disconnect: bool) -> FastAPI:
    counts: Counter[str] = Counter()
    app = FastAPI()
    app.add_middleware(PassThrough)
    if cancel_on_disconnect:
        app.add_middleware(CancelOnDisconnect)

    @app.post("/work")
    async def work() -> dict[str, bool]:
        try:
            await asyncio.sleep(WORK_SECONDS)
        except asyncio.CancelledError:
            counts["cancelled"] += 1
            raise
        counts["finished"] += 1
        return {"ok": True}

    @app.get("/counts")
    async def read_counts() -> dict[str, int]:
        return {"finished": counts["finished"], "cancelled": counts["cancelled"]}

    return app


plain = build(cancel_on_disconnect=False)
cancelling = build(cancel_on_disconnect=True)
