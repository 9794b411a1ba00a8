"""A persistent leak: raw psycopg connections cached per thread, their transaction never ended.

Expected verdict: LEAKED, held by a live reference. The dependency keeps
one psycopg connection per worker thread in a module-level dict "to save the
connect" and writes an audit row on it without committing. psycopg begins
a transaction on the first statement (autocommit is off by default), so
every cached connection stays idle in transaction, outside any pool and its
limits, until the process exits; each new worker thread adds one.

Fixed twin: ``raw-connection-closed``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
from sqlmodel import Session

from ._app import INSERT_AUDIT_ROW, build_app, database_url, engine

# The leak: a module-level cache that outlives every request.
CONNECTIONS: dict[int, psycopg.Connection[tuple[object, ...]]] = {}


def thread_connection() -> psycopg.Connection[tuple[object, ...]]:
    key = threading.get_ident()
    if key not in CONNECTIONS:
        CONNECTIONS[key] = psycopg.connect(database_url())
    return CONNECTIONS[key]


def get_db() -> Iterator[Session]:
    thread_connection().execute(INSERT_AUDIT_ROW)  # no commit: the transaction stays open
    with Session(engine) as session:
        yield session


app = build_app(get_db, title="raw-connection-cache")
