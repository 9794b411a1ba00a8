"""Handlers cancelled behind ``BaseHTTPMiddleware`` when their client leaves, on one async driver.

A pass-through ``BaseHTTPMiddleware`` runs the app in a task of its own; when
the client disconnects, Starlette cancels it, wherever the handler is: in a
query, in the commit, or in the dependency's ``async with`` closing the
session after the answer. The session is opened the recommended way (``async
with`` in a ``yield`` dependency), so any connection left behind is the
stack's doing, not the app's: sqlalchemy/sqlalchemy#6652, #8145 and #12077
(asyncpg; SQLAlchemy 2.0.38 shields the connection's termination from the
cancellation), #11125, MagicStack/asyncpg#1156.
"""

# No ``from __future__ import annotations``: FastAPI must see the real Annotated objects.
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.middleware.base import BaseHTTPMiddleware

from ._app import INSERT_COMPANY, async_engine_for, bare_app

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

    @app.post("/ok")
    async def ok(db: Annotated[AsyncSession, Depends(get_db)]) -> dict[str, bool]:
        await db.execute(INSERT_COMPANY)
        await db.execute(text("SELECT pg_sleep(:s)").bindparams(s=_QUERY_SECONDS))
        await db.commit()
        return {"ok": True}

    return app
