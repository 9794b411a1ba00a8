"""The user's own app through ``--app``: apps written by the test at run time, real
PostgreSQL (the shared embedded server) and real uvicorn targets started by leakbench.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakbench._cli import app
from tests.user_app_sources import write_leaky_app, write_schema, write_shop_package

runner = CliRunner()
SMALL_LOAD = ["-c", "20", "-d", "1", "--settle", "2", "--no-live"]


def run_cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["run", "--report-dir", str(tmp_path / "reports"), *args])
    return result.exit_code, result.output


def flat(output: str) -> str:
    """The output with the console's line wrapping undone, to assert on whole sentences."""
    return " ".join(output.split())


def table_row(output: str, endpoint: str) -> str:
    rows = [line for line in output.splitlines() if line.startswith("│") and endpoint in line]
    assert len(rows) == 1, output
    return rows[0]


def test_a_leaking_file_app_is_leaked(embedded_dsn: str, tmp_path: Path) -> None:
    main = write_leaky_app(tmp_path / "leaky")
    schema = write_schema(tmp_path)
    report = tmp_path / "run.json"
    code, output = run_cli(
        tmp_path,
        "--app", f"{main}:app",
        "--endpoint", "POST /orders",
        "--app-env", "ORDERS_DB={url+psycopg}",
        "--setup-sql", str(schema),
        "--dsn", embedded_dsn,
        "--json", str(report),
        *SMALL_LOAD,
    )  # fmt: skip
    assert code == 1, output
    text = flat(output)
    row = table_row(output, "/orders")
    assert "LEAKED" in row and "leaky/main.py:app" in row
    # Both vantage points agree: five sessions kept alive by the app's list.
    assert "PostgreSQL still sees 5 connection(s) idle in transaction" in text
    assert "the pool still has 5 checked out (0 at the baseline)" in text
    assert "a live reference holds them" in text
    assert "Oldest open transaction" in text and "SELECT count(*) FROM orders" in text
    assert "5 idle in transaction on Client:ClientRead" in text

    data = json.loads(report.read_text())
    found = data["rows"][0]
    assert found["leak_kind"] == "held_by_reference"
    assert found["pool_after_settle"]["capacity"] == 5
    detail = found["findings"]["after_settle"]["detail"]
    assert detail["oldest_transaction"]["query"] == "SELECT count(*) FROM orders"
    assert found["findings"]["session_ends"] == {"fatal": 0, "killed": 0, "abandoned": 0}


def test_a_clean_package_app_with_two_workers_is_clean(
    embedded_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A package.module:app is imported from the current folder, as uvicorn does.
    monkeypatch.chdir(tmp_path)
    spec = write_shop_package(tmp_path)
    schema = write_schema(tmp_path)
    code, output = run_cli(
        tmp_path,
        "--app", spec,
        "--endpoint", "POST /orders",
        "--endpoint", "POST /slow",
        # Built from the separate placeholders (the embedded server needs no password).
        "--app-env", "SHOP_URL=postgresql+psycopg://{user}@{host}:{port}/{dbname}",
        "--setup-sql", str(schema),
        "--workers", "2",
        "--dsn", embedded_dsn,
        *SMALL_LOAD,
    )  # fmt: skip
    assert code == 0, output
    text = flat(output)
    assert "CLEAN" in table_row(output, "/orders")
    assert "CLEAN" in table_row(output, "/slow")
    # The probe answered in both workers: 2 x (2 + 1) + 2 x (1 + 0) pooled connections.
    assert "2 worker(s) x 4 pooled connections (pool_size + max_overflow) = 8 of" in text
    # /slow's one-connection pool times out under load: said to be capacity, not a leak.
    assert re.search(
        r"shop\.main:app /slow CLEAN (- .*? )?- Capacity finding, not a leak: \d+ checkout\(s\) "
        r"timed out waiting for the pool, because the pool was exhausted",
        text,
    ), output
    assert "the pool still has 0 checked out" in text
    assert "Overall: CLEAN" in text


def test_sessions_ended_by_idle_in_transaction_timeout_do_not_hide_a_leak_from_the_pool(
    embedded_dsn: str, tmp_path: Path
) -> None:
    main = write_leaky_app(tmp_path / "leaky")
    # The app's connections end any transaction idle for 200 ms: PostgreSQL's view
    # loses the leak, but the app still holds the five sessions, checked out for good.
    timeout = "options=-c%20idle_in_transaction_session_timeout%3D200"
    code, output = run_cli(
        tmp_path,
        "--app", f"{main}:app",
        "-e", "POST /orders",
        "--app-env", f"ORDERS_DB={{url+psycopg}}?{timeout}",
        "--setup-sql", str(write_schema(tmp_path)),
        "--dsn", embedded_dsn,
        *SMALL_LOAD,
    )  # fmt: skip
    assert code == 1, output
    text = flat(output)
    assert "LEAKED" in table_row(output, "/orders")
    assert "The pool still had 5 connection(s) checked out" in text
    assert (
        "(0 at the baseline), while PostgreSQL shows no transaction for them: it ended 5 "
        "session(s) of the database during the row"
    ) in text
    assert "PostgreSQL also ended 5 session(s) of the database during the row (5 FATAL" in text


def test_a_failing_setup_sql_names_the_file_line_and_error(
    embedded_dsn: str, tmp_path: Path
) -> None:
    main = write_leaky_app(tmp_path / "leaky")
    broken = tmp_path / "broken.sql"
    broken.write_text("CREATE TABLE a (x int);\nINSERT INTO missing VALUES (1);\n")
    code, output = run_cli(
        tmp_path, "--app", f"{main}:app", "-e", "/orders", "--setup-sql", str(broken),
        "--dsn", embedded_dsn, *SMALL_LOAD,
    )  # fmt: skip
    assert code == 2, output
    text = flat(output)
    assert f"--setup-sql {broken} failed at line 2 (INSERT INTO missing VALUES (1);)" in text
    assert 'relation "missing" does not exist' in text
    assert "Traceback" not in output
