"""Least privilege in attach and watch modes: what the role may see.

leakbench needs only ``pg_monitor`` (or ``pg_read_all_stats``) to watch a
database it did not create. Without it, other roles' sessions show with
their state hidden; they are not counted in the samples, so a row that
would be clean cannot be while any such session remains after the settle
(decided in :mod:`leakbench._verdict.rows`).
"""

from __future__ import annotations

from leakbench._postgres import admin, privileges
from leakbench._postgres.privileges import Visibility
from leakbench._postgres.server import Server


def role_visibility(server: Server) -> Visibility:
    """Whether the DSN's role may read every session's state."""
    with admin.connect(server.admin_dsn) as conn:
        return privileges.visibility(conn)


def warnings_for(seen: Visibility) -> list[str]:
    return [] if seen.reads_all_stats else [privileges.unreadable_warning(seen)]


def hidden_reason(server: Server, seen: Visibility, application_name: str | None) -> str | None:
    """Why hidden sessions could hide a leak now, or None when the role sees them all."""
    if seen.reads_all_stats:
        return None
    with admin.connect(server.admin_dsn) as conn:
        hidden = privileges.hidden_sessions(conn, conn.info.dbname, application_name)
    return privileges.hidden_reason(hidden, seen) if hidden else None
