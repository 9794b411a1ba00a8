"""An engine made per request: ``create_engine`` inside the dependency.

Expected verdict: LEAKED, engines never disposed. A mistake reported in
public projects (fastapi/fastapi#2023; see docs/leaks.md): each request
creates an engine, opens a session on it and closes the session. The
session gives its connection back, but to the request's own pool, which
keeps it open, idle, until the engine itself is garbage collected; the
engine is never disposed. Nothing is checked out and nothing is in a
transaction after the settle, so neither PostgreSQL's states nor the pool's
checked-out count show a leak, yet the server's connections grow with the
requests until ``max_connections`` refuses more. The probe sees each pool
made during the row that still holds connections, with the line that made
its engine.

Fixed twin: ``with-session`` (one engine per process, made at import).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlmodel import Session, create_engine

from ._app import build_app, database_url, sqlalchemy_url


def get_db() -> Iterator[Session]:
    engine = create_engine(sqlalchemy_url(database_url()))  # the leak: one engine per request
    with Session(engine) as session:
        yield session


app = build_app(get_db, title="engine-per-request")
