"""Handlers cancelled when their client leaves, behind ``BaseHTTPMiddleware``, on one async driver.

A pass-through ``BaseHTTPMiddleware`` runs the app in a task group of its own. Until
Starlette 0.21 it cancelled that group when the client disconnected; Starlette 1.x does
not (Kludex/starlette#1715), and measured on Starlette 1.10 with ``--abort 50%`` not one
handler was cancelled (0 of 76 requests abandoned). So :class:`~._cancel.CancelOnDisconnect`,
outermost, does what the old middleware did: a client that leaves cancels the request's
anyio scope, with the pass-through middleware's task group and the handler inside it,
wherever the handler is: waiting for a pool slot, in a query, in the commit, or in the
dependency's ``async with`` closing the session. The session is opened the recommended way
(``async with`` in a ``yield`` dependency), so any connection left behind is the stack's
doing, not the app's: sqlalchemy/sqlalchemy#6652, #8145 and #12077 (asyncpg; SQLAlchemy
2.0.38 shields the connection's termination from the cancellation), #11125,
MagicStack/asyncpg#1156. The handler counts where each cancellation reached it (the
target's log, ``GET /cancellations``).
"""

# No ``from __future__ import annotations``: FastAPI must see the real Annotated objects.
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.middleware.base import BaseHTTPMiddleware

from ._app import INSERT_COMPANY, async_engine_for, bare_app
from ._cancel import CancelOnDisconnect, add_cancellations_route, note_cancelled

# Long enough for a client that leaves at a random point to land inside the transaction.
_QUERY_SECONDS = 0.02


class PassThrough(BaseHTTPMiddleware):
    """The shape of a timing or logging middleware: it only calls the app."""

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        return await call_next(request)


def build(driver: str, title: str) -> FastAPI:
    """The app, on ``driver``'s async engine."""
    engine = async_engine_for(driver)
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    async def get_db() -> AsyncIterator[AsyncSession]:
        async with sessions() as session:
            yield session

    app = bare_app(title, pool_engine=engine)
    app.add_middleware(PassThrough)
    # Outermost: a client that leaves cancels the request, the pass-through middleware's task
    # group and the handler in it (Starlette before 0.21 did this inside BaseHTTPMiddleware).
    app.add_middleware(CancelOnDisconnect)

    @app.post("/ok")
    async def ok(db: Annotated[AsyncSession, Depends(get_db)]) -> dict[str, bool]:
        place = "waiting for a pool slot"
        try:
            await db.connection()  # the checkout: queued while the pool is dry
            place = "in a query"
            await db.execute(INSERT_COMPANY)
            await db.execute(text("SELECT pg_sleep(:s)").bindparams(s=_QUERY_SECONDS))
            place = "committing"
            await db.commit()
        except asyncio.CancelledError:
            note_cancelled(place)
            raise
        return {"ok": True}

    add_cancellations_route(app)

    return app
