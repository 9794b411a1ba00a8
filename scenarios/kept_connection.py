"""A leak only the pool sees: each request's connection is kept after its commit.

Expected verdict: LEAKED, checked out but idle. Each request opens
``engine.connect()``, binds its session to it, and keeps the connection in a
module-level list "to reuse it later". The session commits, so the
connection holds no transaction: PostgreSQL shows it *idle*, like any
connection resting in a pool, and its own view finds nothing wrong. But it
was never returned: the pool counts it checked out for good (a live
reference holds it, so no garbage collection frees it), and once
pool_size + max_overflow connections are kept, every later request waits
pool_timeout and fails. leakbench judges it on the pool's own count and
names the line that took the connection.

Fixed twin: ``closed-connection``.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Connection
from sqlmodel import Session

from ._app import build_app, engine

# The leak: connections kept after the request, for a reuse that never comes.
KEPT_CONNECTIONS: list[Connection] = []


def get_db() -> Iterator[Session]:
    conn = engine.connect()
    KEPT_CONNECTIONS.append(conn)
    with Session(bind=conn) as session:
        yield session


app = build_app(get_db, title="kept-connection")
