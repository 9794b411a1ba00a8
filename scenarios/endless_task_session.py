"""A persistent leak: a never-finishing asyncio task holding a session in a transaction.

Expected verdict: LEAKED, held by a live reference. Each request starts a
"watcher" task that polls the table forever through its own session. The
``async with`` is correct but never exits, and the event loop keeps a
sleeping task alive: each watcher holds a pooled connection idle in
transaction until the process exits. Once watchers drain the pool, later
watchers and requests wait ``pool_timeout`` and fail.

Fixed twin: ``async-session`` (no watcher; or one watcher for the process
that commits, or closes its session, between polls).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession

from ._app import COUNT_COMPANIES, AsyncSessionLocal, build_async_app

POLL_SECONDS = 1.0
# Strong references, as the asyncio documentation recommends for fire-and-forget tasks.
WATCHERS: set[asyncio.Task[None]] = set()


async def watch_companies() -> None:
    async with AsyncSessionLocal() as session:
        while True:  # the leak: never returns, never commits
            await session.execute(COUNT_COMPANIES)
            await asyncio.sleep(POLL_SECONDS)


async def get_db() -> AsyncIterator[AsyncSession]:
    async with AsyncSessionLocal() as session:
        yield session
    task = asyncio.create_task(watch_companies())
    WATCHERS.add(task)
    task.add_done_callback(WATCHERS.discard)


app = build_async_app(get_db, title="endless-task-session")
