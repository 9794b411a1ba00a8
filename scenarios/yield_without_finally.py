"""A leak on failing requests only: ``session.close()`` after the ``yield``, not in a finally.

Expected verdict: LEAKED on /error, awaiting the garbage collector. The
dependency closes its session on the line after ``yield``. When the route
raises, FastAPI throws the exception into the generator at the ``yield``;
with no ``try``/``finally`` the line after it never runs. The route had
read after its commit, so the abandoned session still holds a transaction
(PostgreSQL: idle in transaction). Nothing refers to the session any more,
but the Session and its transaction refer to each other, so only Python's
cyclic garbage collector frees it, whenever it next runs. Successful
requests (/ok) close their session and are clean: a test of the happy
path alone never sees this leak. FastAPI's documentation warns about it.

Fixed twin: ``try-finally``.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlmodel import Session

from ._app import build_app, engine


def get_db() -> Iterator[Session]:
    session = Session(engine)
    yield session
    session.close()  # skipped when the route raises: the exception comes out of the yield


app = build_app(get_db, title="yield-without-finally", read_after_commit=True)
