"""What the watching role may see: least privilege for watch and attach modes.

Watching needs no right to create or drop anything: only to read the state
of other roles' sessions in pg_stat_activity, which PostgreSQL grants to
superusers and to members of ``pg_read_all_stats`` (``pg_monitor`` includes
it). A role without it still sees other roles' sessions, but with their
state, backend type and query hidden ("<insufficient privilege>"), so a leak
in them cannot be told from an idle pool: the row must not be called clean.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

_PRIVILEGE_QUERY = """
SELECT current_user::text,
    coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)
    OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER')
"""
# Sessions whose details PostgreSQL hides from this role: other roles' sessions
# when the role may not read all statistics. Our own sessions are never hidden.
_HIDDEN_QUERY = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = %(database)s AND backend_type IS NULL AND query = '<insufficient privilege>'
    AND (%(application_name)s::text IS NULL OR application_name = %(application_name)s)
"""


@dataclass(frozen=True, slots=True)
class Visibility:
    """Whether the role sees every session's state, and its name for the messages."""

    role: str
    reads_all_stats: bool

    @property
    def grant_hint(self) -> str:
        return (
            f"grant it the monitoring role (GRANT pg_monitor TO {self.role};) or connect as a "
            "role that has it"
        )


def visibility(conn: psycopg.Connection[tuple[object, ...]]) -> Visibility:
    """The connected role, and whether it may read every session's state."""
    row = conn.execute(_PRIVILEGE_QUERY).fetchone()
    assert row is not None
    return Visibility(role=str(row[0]), reads_all_stats=bool(row[1]))


def hidden_sessions(
    conn: psycopg.Connection[tuple[object, ...]], database: str, application_name: str | None
) -> int:
    """Sessions of ``database`` (and ``application_name``) whose state this role may not see."""
    params = {"database": database, "application_name": application_name}
    row = conn.execute(_HIDDEN_QUERY, params).fetchone()
    return int(str(row[0])) if row else 0


def unreadable_warning(seen: Visibility) -> str:
    """Said before a watched row when the role may not read other roles' session states."""
    return (
        f"The role {seen.role!r} is not a member of pg_read_all_stats (pg_monitor): "
        "PostgreSQL hides the state of other roles' connections from it, so only connections "
        f"made as {seen.role!r} can be judged; {seen.grant_hint}."
    )


def hidden_reason(count: int, seen: Visibility) -> str:
    """Why a row with hidden sessions cannot be called clean."""
    return (
        f"{count} connection(s) to the database belong to other roles whose state PostgreSQL "
        f"hides from {seen.role!r} (it lacks pg_read_all_stats), so they could be leaked "
        f"unseen; {seen.grant_hint}."
    )
