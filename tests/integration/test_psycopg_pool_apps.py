"""An app on psycopg_pool's own ConnectionPool (no SQLAlchemy), run through ``--app``.

Its error path never gives back the connection it took with ``pool.getconn()``:
LEAKED, lost by the pool (the garbage collector closed the connections, so
PostgreSQL has no session for them, and the pool still counts them out), with
psycopg_pool named in the report. Its fixed twin (``putconn`` in ``finally``) is
CLEAN. Real uvicorn targets, the shared embedded PostgreSQL, small loads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from leakbench._cli import app
from tests.psycopg_pool_apps import write_getconn_app
from tests.user_app_sources import write_schema

runner = CliRunner()
SMALL_LOAD = ["-c", "20", "-d", "1", "--settle", "2", "--no-live"]


def run_app(tmp_path: Path, main: Path, dsn: str) -> tuple[int, str, dict[str, Any]]:
    report = tmp_path / "run.json"
    result = runner.invoke(
        app,
        [
            "run",
            "--report-dir", str(tmp_path / "reports"),
            "--app", f"{main}:app",
            "-e", "POST /orders",
            "--app-env", "ORDERS_DB={url}",
            "--setup-sql", str(write_schema(tmp_path)),
            "--dsn", dsn,
            "--json", str(report),
            *SMALL_LOAD,
        ],
    )  # fmt: skip
    data = json.loads(report.read_text()) if report.exists() else {}
    return result.exit_code, " ".join(result.output.split()), data


def test_getconn_never_put_back_on_the_error_path_is_lost_by_the_pool(
    embedded_dsn: str, tmp_path: Path
) -> None:
    main = write_getconn_app(tmp_path / "leaking", fixed=False)
    code, text, data = run_app(tmp_path, main, embedded_dsn)

    assert code == 1, text
    found = data["rows"][0]
    assert found["verdict"] == "LEAKED", text
    assert found["leak_kind"] == "lost_by_pool", text
    # max_size 6: every third request loses one, so the pool is drained within the load.
    assert found["findings"]["pool_leaked_connections"] == 6, text
    assert found["findings"]["pool_leaked_after_gc"] == 6, text
    assert found["pool_after_settle"]["psycopg_pools"] == 1, text
    assert found["pool_after_settle"]["psycopg_checked_out"] == 6, text
    assert "psycopg_pool" in text and "still had 6 connection(s) checked out" in text
    assert "Lost by the pool" in text
    assert "every connection was back" not in text
    drivers = data["versions"]["drivers"]
    assert any("psycopg_pool" in d and "ConnectionPool" in d for d in drivers), drivers


def test_its_fixed_twin_is_clean(embedded_dsn: str, tmp_path: Path) -> None:
    main = write_getconn_app(tmp_path / "fixed", fixed=True)
    code, text, data = run_app(tmp_path, main, embedded_dsn)

    assert code == 0, text
    found = data["rows"][0]
    assert found["verdict"] == "CLEAN", text
    # The pool was seen, and it vouches: its own count is back to the baseline's.
    assert found["pool_after_settle"]["psycopg_pools"] == 1, text
    assert found["pool_after_settle"]["psycopg_checked_out"] == 0, text
    assert "pool's own count is unknown" not in text
