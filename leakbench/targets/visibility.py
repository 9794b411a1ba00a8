"""Least privilege in attach and watch modes: judge only what the role may see.

leakbench needs only ``pg_monitor`` (or ``pg_read_all_stats``) to watch a
database it did not create. Without it, other roles' sessions show with
their state hidden; they are not counted in the samples, so a row that
would be clean cannot be, while any such session remains after the settle.
"""

from __future__ import annotations

import dataclasses

from leakbench.postgres import admin, privileges
from leakbench.postgres.privileges import Visibility
from leakbench.postgres.server import Server
from leakbench.results import RowResult, Verdict


def role_visibility(server: Server) -> Visibility:
    """Whether the DSN's role may read every session's state."""
    with admin.connect(server.admin_dsn) as conn:
        return privileges.visibility(conn)


def warnings_for(seen: Visibility) -> list[str]:
    return [] if seen.reads_all_stats else [privileges.unreadable_warning(seen)]


def checked_row(
    row: RowResult, server: Server, seen: Visibility, application_name: str | None
) -> RowResult:
    """Make a clean (or no-connection) row INCONCLUSIVE while sessions hidden from us remain."""
    findings = row.findings
    if seen.reads_all_stats or findings is None:
        return row
    if row.verdict not in (Verdict.CLEAN, Verdict.INCONCLUSIVE):
        return row
    with admin.connect(server.admin_dsn) as conn:
        hidden = privileges.hidden_sessions(conn, conn.info.dbname, application_name)
    if not hidden:
        return row
    reasons = (privileges.hidden_reason(hidden, seen), *findings.reasons)
    findings = dataclasses.replace(findings, verdict=Verdict.INCONCLUSIVE, reasons=reasons)
    return dataclasses.replace(row, verdict=Verdict.INCONCLUSIVE, findings=findings)
