"""A trap for a status-based rule: every answer is a 409, after an INSERT.

Expected verdict: CLEAN. The /conflict route runs an INSERT and then raises
``HTTPException(409)``, as a handler refusing a duplicate does (so do a 404
after a lookup and a 403 after loading the user). The handler ran and used
the database on every request, so the row is judged like any other: the
template's ``with Session(engine)`` dependency rolls the INSERT back and
returns the connection. The database proves the exercise (its transaction
count and the pool's checkouts), not the HTTP status class.

Twin: ``conflict-after-sql-async``, the same route on the async stack.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlmodel import Session

from ._app import build_app, engine


def get_db() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


app = build_app(get_db, title="conflict-after-sql")
