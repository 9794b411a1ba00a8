"""A trap that is CLEAN: a raw psycopg connection that is simply dropped, never closed.

Expected verdict: CLEAN. The connection is only referenced by a local
variable of ``write_audit``; when that function returns, reference counting
frees it at once and psycopg closes it (with a ResourceWarning), which ends
the open transaction on the server, rolling the audit row back. Sloppy and
wrong (the row is lost), but no connection is.

Fixed twin: ``raw-connection-closed``.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
from sqlmodel import Session

from ._app import INSERT_AUDIT_ROW, build_app, database_url, engine


def write_audit() -> None:
    audit = psycopg.connect(database_url())
    audit.execute(INSERT_AUDIT_ROW)  # no commit, no close: dropped on return


def get_db() -> Iterator[Session]:
    write_audit()
    with Session(engine) as session:
        yield session


app = build_app(get_db, title="raw-connection-dropped")
