"""Issue 9's two apps, written outside the project and run through ``--app`` on the
embedded server: a leak only the pool sees is LEAKED with its kind and its line of
code, and a clean app whose every answer is a 4xx after SQL is CLEAN.
"""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from leakbench._cli import app
from tests.user_app_sources import (
    source_line,
    write_conflict_after_sql_app,
    write_heartbeat_app,
    write_kept_after_commit_app,
    write_schema,
)

runner = CliRunner()
SMALL_LOAD = ["-c", "20", "-d", "1", "--settle", "2", "--no-live"]


def run_app(tmp_path: Path, main: Path, *args: str) -> tuple[int, str, dict[str, object]]:
    report = tmp_path / "run.json"
    result = runner.invoke(
        app,
        [
            "run",
            "--report-dir", str(tmp_path / "reports"),
            "--app", f"{main}:app",
            "--app-env", "ORDERS_DB={url+psycopg}",
            "--setup-sql", str(write_schema(tmp_path)),
            "--json", str(report),
            *SMALL_LOAD,
            *args,
        ],
    )  # fmt: skip
    data = json.loads(report.read_text()) if report.exists() else {}
    return result.exit_code, " ".join(result.output.split()), data


def test_connections_kept_after_commit_are_leaked_checked_out_but_idle(
    embedded_dsn: str, tmp_path: Path
) -> None:
    main = write_kept_after_commit_app(tmp_path / "kept")
    line = source_line(main, "conn = engine.connect()")
    code, text, data = run_app(tmp_path, main, "-e", "POST /orders", "--dsn", embedded_dsn)
    assert code == 1, text
    rows = data["rows"]
    assert isinstance(rows, list)
    row = rows[0]
    assert row["verdict"] == "LEAKED", text
    assert row["leak_kind"] == "checked_out_idle", text
    # pool_size 2 + max_overflow 10: every connection the pool can give is kept.
    findings = row["findings"]
    assert findings["pool_leaked_connections"] == 12, text
    assert findings["pool_leaked_after_gc"] == 12, text
    assert findings["after_settle"]["idle_in_transaction"] == 0, text
    assert findings["leak_sites"] == [
        {"file": "main.py", "line": line, "function": "create_order", "count": 12}
    ], text
    # The same facts in words, and nothing that says the opposite.
    assert "PostgreSQL shows them idle, outside any transaction" in text
    assert "Checked out but idle" in text
    assert f"12 connection(s) checked out at main.py:{line} in create_order, never returned" in (
        text
    )
    assert "every connection was back" not in text
    assert "not a leak" not in text
    report_md = next((tmp_path / "reports").rglob("report.md")).read_text()
    assert f"main.py:{line} in create\\_order" in report_md
    report_html = next((tmp_path / "reports").rglob("report.html")).read_text()
    assert f"main.py:{line} in create_order, never returned" in report_html
    assert "<b>checked out but idle</b>" in report_html


def test_a_conflict_answered_after_sql_is_judged_clean(embedded_dsn: str, tmp_path: Path) -> None:
    main = write_conflict_after_sql_app(tmp_path / "conflict")
    code, text, data = run_app(tmp_path, main, "-e", "POST /orders", "--dsn", embedded_dsn)
    assert code == 0, text
    rows = data["rows"]
    assert isinstance(rows, list)
    row = rows[0]
    assert row["verdict"] == "CLEAN", text
    assert set(row["load"]["status_counts"]) == {"409"}, text
    findings = row["findings"]
    # Proven by the database: each request checked a connection out and ran its INSERT.
    assert findings["pool_checkouts"] >= row["requests"] > 0, text
    assert findings["connections_used"] > 0, text
    assert findings["database_transactions"] > 0, text
    # A CLEAN row's notes live in the reports, not under the terminal's table.
    reasons = " ".join(row["reasons"])
    assert "Every response was a 4xx, but the requests ran SQL" in reasons, text
    assert "handler never ran" not in reasons


def test_requests_refused_before_the_handler_are_inconclusive_with_the_evidence(
    embedded_dsn: str, tmp_path: Path
) -> None:
    main = write_conflict_after_sql_app(tmp_path / "conflict")
    # The default body lacks "sku": FastAPI answers 422 before the handler (and its session) runs.
    code, text, data = run_app(tmp_path, main, "-e", "POST /items", "--dsn", embedded_dsn)
    assert code == 4, text
    rows = data["rows"]
    assert isinstance(rows, list)
    assert rows[0]["verdict"] == "INCONCLUSIVE", text
    assert rows[0]["findings"]["connections_used"] == 0, text
    assert (
        "Every response was a 4xx client error and nothing touched the database "
        "(0 pool checkout(s), 0 connection(s) that ran a statement, 0 new session(s)" in text
    )
    assert "check --endpoint and --body" in text


def test_a_checkout_by_the_apps_own_background_work_is_not_a_leak(
    embedded_dsn: str, tmp_path: Path
) -> None:
    main = write_heartbeat_app(tmp_path / "heartbeat")
    code, text, data = run_app(tmp_path, main, "-e", "POST /orders", "--dsn", embedded_dsn)
    assert code == 0, text
    rows = data["rows"]
    assert isinstance(rows, list)
    assert rows[0]["verdict"] == "CLEAN", text
    assert rows[0]["findings"]["pool_leaked_connections"] == 0, text
