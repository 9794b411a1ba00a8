"""Administrative SQL: connecting with clear errors, and the databases leakbench owns.

Every database leakbench creates is named ``leakbench_<run>_<n>`` and carries
a comment naming its run. Only such databases are ever dropped, and a
leftover only when its run is gone: a live run keeps a connection open whose
``application_name`` carries the run's id (:func:`hold_ownership`), which the
server shows to every role. A host name and pid would not do: runs in two PID
namespaces (containers, CI runners on one host) share a host name and reuse
each other's pids.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
from psycopg import sql

from leakbench._settings.dsn import describe, redact
from leakbench._system.processes import process_alive
from leakbench.errors import DatabasePermissionError, DatabaseUnreachableError

DATABASE_PREFIX = "leakbench_"
_COMMENT_TAG = "leakbench-owned"
_OWNER_APPLICATION_PREFIX = "leakbench-owner-"


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """What a report records about the server."""

    version: str
    version_num: int
    max_connections: int
    idle_in_transaction_session_timeout: str


def connect(
    dsn: str,
    *,
    timeout: float = 5.0,
    application_name: str = "leakbench",
    embedded: bool = False,
) -> psycopg.Connection[tuple[object, ...]]:
    """Open an autocommit connection, turning libpq failures into one-line errors.

    ``embedded``: the DSN is the embedded server leakbench started, so the
    hint speaks of that server rather than of a --dsn the user never gave.
    """
    try:
        return psycopg.connect(
            dsn,
            autocommit=True,
            connect_timeout=max(1, int(timeout)),
            application_name=application_name,
        )
    except psycopg.OperationalError as exc:
        raise _explain_connect_failure(dsn, exc, embedded=embedded) from None


def _explain_connect_failure(
    dsn: str, exc: psycopg.OperationalError, *, embedded: bool = False
) -> DatabaseUnreachableError:
    where = describe(dsn)
    message = redact(str(exc)).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    lowered = message.lower()
    if embedded:
        return DatabaseUnreachableError(
            f"The embedded PostgreSQL server leakbench started ({where}) stopped answering: "
            f"{message}; it was stopped or killed from outside (or ran out of memory or disk)."
        )
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        hint = "check the user and password in --dsn"
    elif "does not exist" in lowered:
        hint = "check the database name in --dsn (it must exist; leakbench creates its own inside)"
    elif "too many clients" in lowered or "remaining connection slots" in lowered:
        hint = "the server is at max_connections; free some connections or raise the limit"
    else:
        hint = "check that the server runs and that host and port in --dsn are right"
    return DatabaseUnreachableError(f"Cannot connect to PostgreSQL at {where}: {message}; {hint}.")


def server_info(conn: psycopg.Connection[tuple[object, ...]]) -> ServerInfo:
    row = conn.execute(
        "SELECT current_setting('server_version'), current_setting('server_version_num')::int,"
        " current_setting('max_connections')::int,"
        " current_setting('idle_in_transaction_session_timeout')"
    ).fetchone()
    assert row is not None
    return ServerInfo(
        version=str(row[0]),
        version_num=int(str(row[1])),
        max_connections=int(str(row[2])),
        idle_in_transaction_session_timeout=str(row[3]),
    )


def new_run_id() -> str:
    """A short random id that makes this run's database names unique."""
    return secrets.token_hex(4)


def owner_application_name(run_id: str) -> str:
    return f"{_OWNER_APPLICATION_PREFIX}{run_id}"


@contextlib.contextmanager
def hold_ownership(dsn: str, run_id: str, *, embedded: bool = False) -> Iterator[None]:
    """Keep a connection open that tells other runs this run is alive (see the module's doc)."""
    with connect(dsn, application_name=owner_application_name(run_id), embedded=embedded):
        yield


def create_owned_database(
    conn: psycopg.Connection[tuple[object, ...]], name: str, run_id: str | None = None
) -> None:
    """Create ``name`` and mark it as leakbench's, with its run (and its host and pid)."""
    if not name.startswith(DATABASE_PREFIX):
        raise ValueError(
            f"refusing to create {name!r}: leakbench names start with {DATABASE_PREFIX}"
        )
    try:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.InsufficientPrivilege:
        user = conn.info.user
        raise DatabasePermissionError(
            f"The role {user!r} may not create databases, and leakbench gives each target a "
            f"fresh one; run 'ALTER ROLE {user} CREATEDB' as a superuser, or use attach mode "
            "(--url) against an app you started yourself."
        ) from None
    owner: dict[str, object] = {
        "tag": _COMMENT_TAG,
        "host": socket.gethostname(),
        "pid": os.getpid(),
    }
    if run_id is not None:
        owner["run"] = run_id
    conn.execute(
        sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(name), sql.Literal(json.dumps(owner))
        )
    )


def drop_owned_database(conn: psycopg.Connection[tuple[object, ...]], name: str) -> None:
    """Drop a database leakbench created (never anything else)."""
    if not name.startswith(DATABASE_PREFIX) or not _is_owned(conn, name):
        return
    force = sql.SQL(" WITH (FORCE)") if conn.info.server_version >= 130000 else sql.SQL("")
    conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}{}").format(sql.Identifier(name), force))


def _owner_of(conn: psycopg.Connection[tuple[object, ...]], name: str) -> dict[str, object] | None:
    row = conn.execute(
        "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
        (name,),
    ).fetchone()
    if row is None or not row[0]:
        return None
    try:
        owner = json.loads(str(row[0]))
    except ValueError:
        return None
    return owner if isinstance(owner, dict) and owner.get("tag") == _COMMENT_TAG else None


def _is_owned(conn: psycopg.Connection[tuple[object, ...]], name: str) -> bool:
    return _owner_of(conn, name) is not None


def _run_alive(conn: psycopg.Connection[tuple[object, ...]], run_id: str) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
        (owner_application_name(run_id),),
    ).fetchone()
    return row is not None and int(str(row[0])) > 0


def _is_stale(conn: psycopg.Connection[tuple[object, ...]], owner: dict[str, object]) -> bool:
    run_id = owner.get("run")
    if isinstance(run_id, str):
        return not _run_alive(conn, run_id)
    # Left by a leakbench before run ids: its host and pid are all there is to go on.
    pid = owner.get("pid")
    if owner.get("host") != socket.gethostname():
        return False
    return not (isinstance(pid, int) and process_alive(pid))


def drop_stale_databases(conn: psycopg.Connection[tuple[object, ...]]) -> list[str]:
    """Drop leakbench databases whose run is gone (no connection of it is open)."""
    rows = conn.execute(
        "SELECT datname FROM pg_database WHERE datname LIKE %s", (DATABASE_PREFIX + "%",)
    ).fetchall()
    dropped: list[str] = []
    for (name,) in rows:
        owner = _owner_of(conn, str(name))
        if owner is None or not _is_stale(conn, owner):
            continue
        drop_owned_database(conn, str(name))
        dropped.append(str(name))
    return dropped
