"""A real, persistent leak: every request's session is kept alive and never closed.

Expected verdict: LEAKED. Code like this appears as "request audit" or
"debug history" lists. The routes read after committing, which begins a new
transaction; the list holds each Session, the Session holds that
transaction, and the transaction holds a pooled connection that PostgreSQL
shows as idle in transaction until the process exits. No garbage
collection can free it, because a live reference reaches it. The pool
caps the damage at pool_size + max_overflow connections; later requests
wait for pool_timeout and fail.

Fixed twin: ``try-finally``.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlmodel import Session

from ._app import build_app, engine

# The leak: a module-level reference that outlives every request.
RECENT_SESSIONS: list[Session] = []


def get_db() -> Iterator[Session]:
    session = Session(engine)
    RECENT_SESSIONS.append(session)
    yield session


app = build_app(get_db, title="global-session-cache", read_after_commit=True)
