"""The fix of ``raw-connection-cache``: a raw psycopg connection per request, in a ``with`` block.

Expected verdict: CLEAN. Leaving psycopg's ``with`` commits the audit row
and closes the connection, whatever the route does afterwards.

Fixed twin of: ``raw-connection-cache``.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
from sqlmodel import Session

from ._app import INSERT_AUDIT_ROW, build_app, database_url, engine


def get_db() -> Iterator[Session]:
    with psycopg.connect(database_url()) as audit:
        audit.execute(INSERT_AUDIT_ROW)
    with Session(engine) as session:
        yield session


app = build_app(get_db, title="raw-connection-closed")
