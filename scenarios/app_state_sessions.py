"""A persistent leak: each request's session is parked on ``app.state`` and never closed.

Expected verdict: LEAKED, held by a live reference. Code like this keeps
sessions "to close them at shutdown" or to reach them from middleware. The
application object lives as long as the process, so every session on it,
and the transaction its read-after-commit began, stays checked out of the
pool and idle in transaction until the process exits; no garbage
collection can free them. Once the pool is drained, requests wait
``pool_timeout`` and fail.

Fixed twin: ``try-finally`` (close the session when the request ends).
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlmodel import Session

from ._app import build_app, engine


def get_db(request: Request) -> Iterator[Session]:
    session = Session(engine)
    # The leak: app.state outlives every request.
    request.app.state.open_sessions.append(session)
    yield session


app = build_app(get_db, title="app-state-sessions", read_after_commit=True)
app.state.open_sessions = []
