"""The whole pipeline through the CLI, against real PostgreSQL and real uvicorn targets."""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from pathlib import Path

import httpx2
import psutil
import psycopg
import pytest
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._postgres.embedded import DIR_PREFIX
from leakbench._system.processes import OWNER_FILE
from tests.fix_db import connections_by_state
from tests.fix_server import StartTarget, scenario

runner = CliRunner()
SMALL_LOAD = ["-c", "40", "-d", "1", "--settle", "2"]


def run_cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["run", *args])
    return result.exit_code, result.output


def table_rows(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("│")]


def test_the_pull_requests_two_patterns_measure_clean(embedded_dsn: str, tmp_path: Path) -> None:
    report = tmp_path / "run.json"
    code, output = run_cli(
        "--pattern", "both", "--dsn", embedded_dsn, "--json", str(report), *SMALL_LOAD
    )
    assert code == 0, output
    rows = table_rows(output)
    assert len(rows) == 4
    assert [r.split("│")[1].strip() for r in rows] == ["with-session"] * 2 + ["try-finally"] * 2
    assert all("CLEAN" in r for r in rows)
    assert "Overall: CLEAN" in output

    data = json.loads(report.read_text())
    assert data["verdict"] == "CLEAN"
    assert set(data["versions"]) >= {
        "python",
        "fastapi",
        "starlette",
        "sqlalchemy",
        "psycopg",
        "postgresql",
    }
    assert data["versions"]["postgresql"].startswith("18")
    assert data["settings"]["pool_size"] == 2 and data["settings"]["max_overflow"] == 10
    for row in data["rows"]:
        assert {"pattern", "endpoint", "requests", "errors", "rps", "latency_ms", "verdict"} <= set(
            row
        )
        assert {"peak_idle_in_transaction", "idle_in_transaction", "total_connections"} <= set(row)
        assert row["requests"] > 0 and row["rps"] > 0
        assert row["idle_in_transaction"] == 0
        # The pool holds at most 12; a backend whose overflow connection the pool has just
        # closed stays listed for a moment while its replacement opens, so a sample under
        # load may see one or two more. After the settle the bound is exact.
        assert row["peak_total_connections"] <= 12 + 2
        assert row["total_connections"] <= 12
        assert set(row["latency_ms"]) >= {"p50", "p95", "p99"}
        assert any(s["phase"] == "load" for s in row["samples"])
        assert any(s["phase"] == "settle" for s in row["samples"])


def test_the_leak_is_visible_to_an_independent_look(
    start_target: StartTarget, embedded_dsn: str, owned_database: str
) -> None:
    """Checked the way a person would with psql, without leakbench's analysis."""
    target = start_target(scenario("global-session-cache"))
    with httpx2.Client(base_url=target.base_url) as client:
        for _ in range(3):
            assert client.post("/ok").status_code == 200
    time.sleep(1.0)
    assert connections_by_state(embedded_dsn, owned_database).get("idle in transaction") == 3


def test_the_fixed_twin_leaves_nothing_to_an_independent_look(
    start_target: StartTarget, embedded_dsn: str, owned_database: str
) -> None:
    target = start_target(scenario("try-finally"))
    with httpx2.Client(base_url=target.base_url) as client:
        for _ in range(3):
            assert client.post("/ok").status_code == 200
    time.sleep(1.0)
    states = connections_by_state(embedded_dsn, owned_database)
    assert states.get("idle in transaction", 0) == 0
    assert states.get("idle") == 1  # pool_size keeps one returned connection


def _our_embedded_folders() -> set[Path]:
    """Embedded-server folders made by this process (other runs may share /tmp)."""
    folders = Path(tempfile.gettempdir()).glob(f"{DIR_PREFIX}*")
    return {f for f in folders if _owner(f) == os.getpid()}


def _owner(folder: Path) -> int | None:
    try:
        return int((folder / OWNER_FILE).read_text())
    except (OSError, ValueError):
        return None


def _postgres_on_port(port: int) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and str(port) in (proc.info["cmdline"] or []):
            found.append(proc)
    return found


def test_without_a_dsn_an_embedded_server_is_started_and_removed() -> None:
    folders_before = _our_embedded_folders()
    code, output = run_cli(
        "--pattern", "try-finally", "-e", "ok", "-c", "20", "-d", "1", "--settle", "2"
    )
    assert code == 0, output
    found = re.search(r"embedded PostgreSQL 18\.\d+ on 127\.0\.0\.1:(\d+)", output)
    assert found, output
    port = int(found.group(1))
    assert _our_embedded_folders() == folders_before
    deadline = time.monotonic() + 5
    while _postgres_on_port(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _postgres_on_port(port)
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"host=127.0.0.1 port={port} user=postgres", connect_timeout=2)


@pytest.mark.external
def test_an_external_server_through_dsn(external_server_dsn: str) -> None:
    code, output = run_cli(
        "--pattern", "with-session", "-e", "error", "--dsn", external_server_dsn, *SMALL_LOAD
    )
    assert code == 0, output
    assert "CLEAN" in table_rows(output)[0]
    with psycopg.connect(external_server_dsn) as conn:
        left = conn.execute(
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'leakbench_%'"
        ).fetchone()
    assert left == (0,)
