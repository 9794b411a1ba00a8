"""The pull request's proposed fix: ``try: yield session`` / ``finally: session.close()``.

Expected verdict: CLEAN, exactly like ``with-session``.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlmodel import Session

from ._app import build_app, engine


def get_db() -> Iterator[Session]:
    session = Session(engine)
    try:
        yield session
    finally:
        session.close()


app = build_app(get_db, title="try-finally")
