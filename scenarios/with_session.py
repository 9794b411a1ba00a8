"""The FastAPI template's dependency: ``with Session(engine) as session: yield session``.

Expected verdict: CLEAN. FastAPI drives the generator itself and resumes it
after the response, so the ``with`` block exits (and the session closes)
at the same moment a ``finally`` would.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlmodel import Session

from ._app import build_app, engine


def get_db() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


app = build_app(get_db, title="with-session")
