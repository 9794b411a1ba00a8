"""A trap that is CLEAN: the pool runs dry, requests wait and time out, no connection is lost.

Expected verdict: CLEAN (with server errors). The slow transactions of
``slow-transaction`` (0.4 s each) meet a short ``pool_timeout`` of 0.5 s:
with more concurrent requests than pool_size + max_overflow, requests queue
for a connection and those that wait too long fail with SQLAlchemy's
"QueuePool limit ... reached, connection timed out" (HTTP 500). That is a
capacity problem, not a leak: every connection is back in the pool, and
nothing is idle in transaction, once the load stops.

Fixed twin: none; size the pool (and max_connections) for the load, or
shorten the transactions.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlmodel import Session

from ._app import SLOW_TRANSACTION_SECONDS, build_app, engine_from_environment

POOL_TIMEOUT_SECONDS = 0.5

small_wait_engine = engine_from_environment(pool_timeout=POOL_TIMEOUT_SECONDS)


def get_db() -> Iterator[Session]:
    with Session(small_wait_engine) as session:
        yield session


app = build_app(
    get_db,
    title="pool-exhaustion",
    hold_seconds=SLOW_TRANSACTION_SECONDS,
    pool_engine=small_wait_engine,
)
