"""A persistent leak: a module-level connection whose transaction is begun and never ended.

Expected verdict: LEAKED, held by a live reference. An audit log written
through one shared ``engine.connect()`` (serialised with a lock, since a
Connection is not thread-safe) without ``commit()``: SQLAlchemy 2's
autobegin opens a transaction on the first statement and nothing ends it,
so the connection sits idle in transaction for the life of the process,
its row locks and rows invisible to everyone else.

Fixed twin: ``try-finally`` (write the audit row in the request's session).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from sqlalchemy import text
from sqlmodel import Session

from ._app import INSERT_AUDIT_ROW, build_app, engine

AUDIT_INSERT = text(INSERT_AUDIT_ROW)

# The leak: one connection for the whole process, its transaction never ended.
AUDIT_LOCK = threading.Lock()
AUDIT_CONNECTION = engine.connect()


def get_db() -> Iterator[Session]:
    with AUDIT_LOCK:
        AUDIT_CONNECTION.execute(AUDIT_INSERT)  # autobegin; no commit()
    with Session(engine) as session:
        yield session


app = build_app(get_db, title="shared-connection-transaction")
