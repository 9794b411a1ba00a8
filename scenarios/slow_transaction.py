"""A trap that is CLEAN: slow transactions keep many connections busy while requests run.

Expected verdict: CLEAN. Each request holds its transaction open for
0.4 s before committing: 0.2 s waiting in Python (PostgreSQL shows the
connection *idle in transaction*) and 0.2 s in ``pg_sleep`` (*active*).
A snapshot taken during the load, as in the PR, sees up to pool_size +
max_overflow connections idle in transaction and calls it a leak; after
the last response every one of them has committed and gone back to the pool.

Fixed twin: none; there is nothing to fix (keep transactions short if the
pool runs dry: see ``pool-exhaustion``).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlmodel import Session

from ._app import SLOW_TRANSACTION_SECONDS, build_app, engine


def get_db() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


app = build_app(get_db, title="slow-transaction", hold_seconds=SLOW_TRANSACTION_SECONDS)
