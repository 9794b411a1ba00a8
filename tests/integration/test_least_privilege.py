"""Watch and attach need only pg_monitor: no CREATEDB, no superuser, nothing created.

On the external server the test creates an app role that owns a database,
a monitoring role that is only ``IN ROLE pg_monitor`` and a plain role with
no grant at all, as docs/your-app.md tells users to; the target runs as the app
role, and leakbench watches as the others. All are dropped at the end.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._settings import dsn as dsn_tools
from leakbench._targets.process import TargetProcess
from tests.fix_server import scenario, target_env
from tests.integration.load_tools import needs_wrk, wrk_command

pytestmark = [pytest.mark.external, pytest.mark.slow]
runner = CliRunner()


@dataclass(frozen=True)
class Roles:
    database: str
    app_dsn: str
    monitor_dsn: str
    plain_dsn: str


@pytest.fixture
def roles(external_server_dsn: str) -> Iterator[Roles]:
    suffix = secrets.token_hex(4)
    database, owner = f"lb_watch_{suffix}", f"lb_app_{suffix}"
    monitor, plain = f"lb_monitor_{suffix}", f"lb_plain_{suffix}"
    statements = [
        sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(owner)),
        # The lines of docs/your-app.md: a login role that can only read the statistics views.
        sql.SQL("CREATE ROLE {} LOGIN IN ROLE pg_monitor").format(sql.Identifier(monitor)),
        sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(plain)),
        sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(database), sql.Identifier(owner)
        ),
    ]
    with psycopg.connect(external_server_dsn, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)
    params = dsn_tools.validate(external_server_dsn)

    def as_role(role: str) -> str:
        return psycopg.conninfo.make_conninfo(
            host=params.get("host", "127.0.0.1"), port=params.get("port", "5432"),
            user=role, dbname=database,
        )  # fmt: skip

    try:
        yield Roles(database, as_role(owner), as_role(monitor), as_role(plain))
    finally:
        with psycopg.connect(external_server_dsn, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (database,),
            )
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(database)
            ))  # fmt: skip
            for role in (owner, monitor, plain):
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
def leaking_app(roles: Roles, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Start a leaking scenario connected as the app role (a fresh one each call: the
    last one's pool is full of leaked connections); all are stopped at the end."""
    started: list[TargetProcess] = []

    def start() -> str:
        process = TargetProcess(
            scenario("global-session-cache"),
            target_env(roles.app_dsn, roles.database),
            tmp_path / f"t{len(started)}",
        )
        started.append(process)
        process.start()
        return process.base_url

    yield start
    for process in started:
        process.stop()


def watch(tmp_path: Path, dsn: str, command: list[str]) -> tuple[int, str, dict[str, object]]:
    report = tmp_path / "watch.json"
    result = runner.invoke(
        app,
        [
            *("watch", "--dsn", dsn, "--settle", "2", "--no-live", "--json", str(report)),
            *("--report-dir", str(tmp_path / "reports"), "--", *command),
        ],
    )
    data = json.loads(report.read_text()) if report.exists() else {}
    return result.exit_code, " ".join(result.output.split()), data


def role_rights(dsn: str) -> tuple[bool, bool]:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
    assert row is not None
    return bool(row[0]), bool(row[1])


@needs_wrk
def test_a_pg_monitor_role_is_enough_to_watch_and_attach(
    roles: Roles, leaking_app: Callable[[], str], tmp_path: Path
) -> None:
    assert role_rights(roles.monitor_dsn) == (False, False)  # neither superuser nor CREATEDB
    command = wrk_command(tmp_path, leaking_app())
    code, output, data = watch(tmp_path, roles.monitor_dsn, command)
    assert code == 1, output
    rows = data["rows"]
    assert isinstance(rows, list) and rows[0]["verdict"] == "LEAKED"
    assert "connection(s) were still idle in transaction" in output
    assert "pg_read_all_stats" not in output  # no warning: it sees every session's state

    # Attach mode, the same role: leakbench loads, the monitoring role watches.
    result = runner.invoke(
        app,
        [
            *("run", "--url", leaking_app(), "--dsn", roles.monitor_dsn, "-e", "POST /ok"),
            *("-c", "10", "-d", "1", "--settle", "2", "--no-live"),
            *("--report-dir", str(tmp_path / "attach")),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "LEAKED" in result.output


@needs_wrk
def test_a_role_without_pg_monitor_cannot_call_the_app_clean(
    roles: Roles, leaking_app: Callable[[], str], tmp_path: Path
) -> None:
    code, output, data = watch(tmp_path, roles.plain_dsn, wrk_command(tmp_path, leaking_app()))
    # The app's sessions are hidden from it: never CLEAN, and it says what to grant.
    assert code == 4, output
    rows = data["rows"]
    assert isinstance(rows, list) and rows[0]["verdict"] == "INCONCLUSIVE"
    role = psycopg.conninfo.conninfo_to_dict(roles.plain_dsn)["user"]
    assert "is not a member of pg_read_all_stats (pg_monitor)" in output
    assert f"belong to other roles whose state PostgreSQL hides from '{role}'" in output
    assert f"GRANT pg_monitor TO {role};" in output
