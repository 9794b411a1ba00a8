"""Passwords never shown, permissions explained, unreachable servers named — for real.

A second embedded server with password authentication (scram-sha-256 over
TCP) stands in for a production database.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._postgres.embedded import EmbeddedPostgres
from tests.reliability.spawn import words

PASSWORD = "Sup3r-s3cret-Pa55"
runner = CliRunner()


@pytest.fixture(scope="module")
def secured() -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(password=PASSWORD) as server:
        yield server


def url(server: EmbeddedPostgres, user: str = "postgres", password: str = PASSWORD) -> str:
    return f"postgresql://{user}:{password}@127.0.0.1:{server.port}/postgres"


def test_a_run_with_a_password_dsn_never_shows_the_password(
    secured: EmbeddedPostgres, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    result = runner.invoke(
        app,
        [
            *words("run -p try-finally -e ok -c 10 -d 1 --settle 2 --dsn"),
            url(secured),
            "--json",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "CLEAN" in result.output
    outputs = {"stdout": result.output}
    outputs.update(
        {str(p): p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()}
    )
    assert len(outputs) >= 2
    for where, text in outputs.items():
        assert PASSWORD not in text, f"password shown in {where}"


def test_a_wrong_password_is_a_one_line_error_without_it(secured: EmbeddedPostgres) -> None:
    result = runner.invoke(
        app, ["run", "-p", "both", "--dsn", url(secured, password="Wr0ng-guess-xyz")]
    )
    assert result.exit_code == 3
    assert "password authentication failed" in result.output
    assert "check the user and password in --dsn" in result.output
    assert "Wr0ng-guess-xyz" not in result.output
    assert "Traceback" not in result.output


def test_no_server_at_the_dsn_names_where_it_looked() -> None:
    result = runner.invoke(
        app, ["run", "-p", "try-finally", "--dsn", "postgresql://u:pw-Zq9@127.0.0.1:9/db"]
    )
    assert result.exit_code == 3
    assert "Cannot connect to PostgreSQL at u@127.0.0.1:9/db" in result.output
    assert "pw-Zq9" not in result.output


def test_a_role_without_createdb_is_told_what_right_it_needs(secured: EmbeddedPostgres) -> None:
    with psycopg.connect(secured.dsn, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS limited")
        conn.execute(
            sql.SQL("CREATE ROLE limited LOGIN NOCREATEDB PASSWORD {}").format(
                sql.Literal("L1m-pass")
            )
        )
    result = runner.invoke(
        app,
        [*words("run -p try-finally -c 5 -d 1 --dsn"), url(secured, "limited", "L1m-pass")],
    )
    assert result.exit_code == 3, result.output
    assert "may not create databases" in result.output
    assert "ALTER ROLE limited CREATEDB" in result.output
    assert "attach mode" in result.output
    assert "L1m-pass" not in result.output
