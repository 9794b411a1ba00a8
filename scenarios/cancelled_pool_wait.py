"""Requests cancelled while they wait for a slot of psycopg_pool's AsyncConnectionPool.

Expected verdict: CLEAN, with full reads and with ``--abort 50%``, as measured on
psycopg_pool 3.3.3. No SQLAlchemy: the handler takes a connection from psycopg's own
``AsyncConnectionPool`` with ``async with pool.connection()``, as psycopg's documentation
shows, inserts, sleeps 20 ms in ``pg_sleep`` and lets the block commit and give the
connection back. With more clients than the pool's ``max_size`` most requests wait in the
pool's queue; :class:`~._cancel.CancelOnDisconnect` cancels a request whose client leaves,
so many are cancelled while they wait (the target's log and ``GET /cancellations`` count
them, by place).

The reports: psycopg/psycopg#509, a coroutine cancelled while waiting for a connection made
psycopg_pool 3.1.6 lose one for good ("Fix handling of tasks cancelled while waiting in
async pool queue", psycopg_pool 3.1.7, #503); #1123 and #1208, connections lost when a
``CancelledError`` hits the pool's own check or rollback (fixed in 3.2.8); #1275 and #1345,
a waiter cancelled just as the pool hands it a connection keeps the connection and never
sees its cancellation (3.3.1). ``GET /pool`` answers the pool's own figures
(``get_stats()``), and the target prints them when it stops: a connection the pool lost
shows there, not in PostgreSQL, where a lost connection is closed or looks idle. leakbench's
probe reads the same figures (``pool_size - pool_available``): on psycopg_pool 3.1.6 the row
is LEAKED, its connections lost by the pool (docs/leaks.md).

The pool's sizes follow the scenarios' SQLAlchemy pools: ``min_size`` is
LEAKBENCH_POOL_SIZE, ``max_size`` adds LEAKBENCH_MAX_OVERFLOW, ``timeout`` is
LEAKBENCH_POOL_TIMEOUT.

Twin: ``cancelled-psycopg`` (the same cancellations, waiting in SQLAlchemy's pool).
"""

# No ``from __future__ import annotations``: FastAPI reads the routes' annotations.
import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool

from ._cancel import CancelOnDisconnect, add_cancellations_route, note_cancelled

# As long as the other cancellation scenarios' query: clients leave during it, too.
_QUERY_SECONDS = 0.02
_CREATE_TABLE = (
    "CREATE TABLE IF NOT EXISTS company "
    "(id serial PRIMARY KEY, company_name text NOT NULL, timezone text NOT NULL)"
)
_INSERT = "INSERT INTO company (company_name, timezone) VALUES ('test', 'UTC')"


def _pool() -> AsyncConnectionPool:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("DATABASE_URL is not set; leakbench sets it for its targets.")
    size = int(os.environ.get("LEAKBENCH_POOL_SIZE", "2"))
    return AsyncConnectionPool(
        url,
        min_size=size,
        max_size=size + int(os.environ.get("LEAKBENCH_MAX_OVERFLOW", "10")),
        timeout=float(os.environ.get("LEAKBENCH_POOL_TIMEOUT", "30")),
        name="cancelled-pool-wait",
        open=False,
    )


pool = _pool()


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    await pool.open(wait=True)
    async with pool.connection() as conn:
        await conn.execute(_CREATE_TABLE)
    yield
    print(f"cancelled-pool-wait: pool stats at exit {pool.get_stats()}", file=sys.stderr)
    await pool.close()


app = FastAPI(title="cancelled-pool-wait", lifespan=lifespan)
app.add_middleware(CancelOnDisconnect)
add_cancellations_route(app)


@app.post("/ok")
async def ok() -> dict[str, bool]:
    place = "waiting for a pool slot"
    try:
        async with pool.connection() as conn:
            place = "holding a connection"
            await conn.execute(_INSERT)
            await conn.execute("SELECT pg_sleep(%s)", (_QUERY_SECONDS,))
    except asyncio.CancelledError:
        note_cancelled(place)
        raise
    return {"ok": True}


@app.get("/pool")
async def pool_stats() -> dict[str, Any]:
    """The pool's own figures: ``pool_size - pool_available`` are out, lost ones included."""
    return dict(pool.get_stats())
