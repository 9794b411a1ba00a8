"""The fix of ``kept-connection``: the request's connection is closed with its session.

Expected verdict: CLEAN. ``with engine.connect() as conn`` returns the
connection to the pool when the request ends, whatever the route did;
the session bound to it has committed or is rolled back on close.

Fixed twin of: ``kept-connection``.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlmodel import Session

from ._app import build_app, engine


def get_db() -> Iterator[Session]:
    with engine.connect() as conn, Session(bind=conn) as session:
        yield session


app = build_app(get_db, title="closed-connection")
