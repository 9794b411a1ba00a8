"""The async stack's leak: an ``AsyncSession`` that is yielded but never closed.

Expected verdict: LEAKED, awaiting garbage collection. The ``AsyncSession``
wraps a sync ``Session`` with the same session <-> transaction reference
cycle as ``never-closed-session``, so only the cyclic collector frees it.
When it does, SQLAlchemy may not run the async driver's I/O from a
finalizer, so it cannot roll back and return the connection: psycopg's
async dialect cannot terminate one synchronously either, so SQLAlchemy
drops it ("The garbage collector is trying to clean up non-checked-in
connection ..., which will be dropped") and psycopg's own finalizer closes
the socket. The pool loses the connection rather than reusing it.

Fixed twin: ``async-session``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession

from ._app import AsyncSessionLocal, build_async_app


async def get_db() -> AsyncIterator[AsyncSession]:
    yield AsyncSessionLocal()  # the leak: no `async with`, no close()


app = build_async_app(get_db, title="async-session-unclosed", read_after_commit=True)
