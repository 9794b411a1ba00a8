"""Faults caused for real: a target killed mid-run, one that never starts, a poller cut off."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import psutil
import psycopg
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._postgres.embedded import EmbeddedPostgres
from leakbench._postgres.poller import POLLER_APPLICATION_NAME
from tests.reliability.spawn import Spawned, no_survivors, words

runner = CliRunner()


def _targets(child: Spawned) -> list[psutil.Process]:
    return [p for p in child.descendants() if "leakbench._targets.boot" in " ".join(p.cmdline())]


def test_a_target_killed_mid_run_fails_its_row_and_the_next_goes_on(
    spawn: list[Spawned], tmp_path: Path, embedded_dsn: str
) -> None:
    report = tmp_path / "r.json"
    child = Spawned(
        [
            *words("run -p with-session -p try-finally -e ok -c 20 -d 2 --settle 2 --dsn"),
            embedded_dsn,
            "--json",
            str(report),
        ]
    )
    spawn.append(child)
    child.wait_for("with-session /ok: load")
    time.sleep(0.5)
    (target,) = _targets(child)
    target.kill()
    assert child.wait(60) == 3  # a FAILED row: the run could not be done in full
    assert no_survivors(child)
    rows = json.loads(report.read_text())["rows"]
    assert rows[0]["verdict"] == "FAILED"
    assert "exited with code -9 during the row" in rows[0]["error"]
    assert rows[0]["target_exit_code"] == -9
    assert rows[1]["verdict"] == "CLEAN"
    # A killed target's cut connections are not blamed on uvicorn's habit after a 500.
    assert "unhandled exception" not in child.output
    assert rows[0]["unanswered"] > 0  # 20 connections had requests in flight
    assert "the target exited (code -9) during the row" in " ".join(child.output.split())


def test_an_app_that_fails_to_import_is_reported_with_its_own_log(
    tmp_path: Path, embedded_dsn: str
) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('boom at import time')\napp = None\n")
    reports = tmp_path / "reports"
    result = runner.invoke(
        app,
        [
            *words("run --no-live --app"),
            f"{broken}:app",
            *words("-e /x -e /y --dsn"),
            embedded_dsn,
            *words("-c 5 -d 1 --startup-timeout 20 --report-dir"),
            str(reports),
        ],
    )
    assert result.exit_code == 3, result.output
    assert "exited with code" in result.output
    assert "boom at import time" in result.output
    # The table's rows: the target's name, then a "-" for each figure never measured.
    table_rows = [line for line in result.output.splitlines() if ":app" in line and " -  " in line]
    assert len(table_rows) == 2
    assert all("FAILED" in line for line in table_rows)  # the second endpoint is not retried
    assert result.output.count("exited with code") == 1
    # The app's traceback as it printed it: its own lines, in order, not one paragraph.
    lines = [line.strip() for line in result.output.splitlines()]
    start = lines.index("Traceback (most recent call last):")
    assert lines.index("RuntimeError: boom at import time") > start
    assert f'File "{broken}", line 1, in <module>' in lines[start:]
    # Its whole output is kept beside the reports, and the failed row names the file.
    (saved,) = (reports / "logs").iterdir()
    assert "RuntimeError: boom at import time" in saved.read_text()
    # (A long path folds at the terminal's width: compared without the whitespace.)
    assert f"Itswholeoutput:{saved}" in "".join(result.output.split())
    assert "<frozen importlib" not in result.output  # no importer frames


def test_an_app_that_never_answers_times_out_quickly(tmp_path: Path, embedded_dsn: str) -> None:
    slow = tmp_path / "slow_start.py"
    slow.write_text(
        "import time\nfrom contextlib import asynccontextmanager\nfrom fastapi import FastAPI\n"
        "@asynccontextmanager\nasync def lifespan(app):\n    time.sleep(60)\n    yield\n"
        "app = FastAPI(lifespan=lifespan)\n"
    )
    started = time.monotonic()
    result = runner.invoke(
        app,
        [
            *words("run --app"),
            f"{slow}:app",
            *words("-e /x --dsn"),
            embedded_dsn,
            *words("-c 5 -d 1 --startup-timeout 3"),
        ],
    )
    assert result.exit_code == 3, result.output
    assert "did not answer HTTP within 3 s" in result.output
    assert "raise --startup-timeout" in " ".join(result.output.split())  # rich wraps lines
    assert time.monotonic() - started < 20


def test_a_poller_cut_off_again_and_again_makes_the_row_inconclusive(
    tmp_path: Path, embedded_dsn: str
) -> None:
    stop = threading.Event()

    def cut_off_the_poller() -> None:
        with psycopg.connect(embedded_dsn, autocommit=True) as conn:
            while not stop.wait(0.03):
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = %s",
                    (POLLER_APPLICATION_NAME,),
                )

    killer = threading.Thread(target=cut_off_the_poller, daemon=True)
    report = tmp_path / "r.json"
    killer.start()
    try:
        result = runner.invoke(
            app,
            [
                *words("run -p try-finally -e ok -c 20 -d 2 --settle 2 --dsn"),
                embedded_dsn,
                "--json",
                str(report),
            ],
        )
    finally:
        stop.set()
        killer.join()
    row = json.loads(report.read_text())["rows"][0]
    # Which of three honest outcomes happens depends on where the kills land;
    # never CLEAN, and each says why.
    assert row["verdict"] in {"INCONCLUSIVE", "FAILED"}, result.output
    if row["verdict"] == "FAILED":
        assert result.exit_code == 3, result.output
        assert "pg_stat_activity could not be read" in row["error"]
    elif row["error"]:  # even the retried after-settle snapshot was cut off
        assert result.exit_code == 4, result.output
        assert "pg_stat_activity could not be read after the settle" in row["error"]
    else:
        assert result.exit_code == 4, result.output
        assert "samples of pg_stat_activity were lost" in " ".join(row["reasons"])
        assert row["findings"]["sample_gaps"] > 0


def test_a_server_restart_mid_row_is_inconclusive_not_clean(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    with EmbeddedPostgres() as server:
        child = Spawned(
            [
                *words("run -p try-finally -e ok -c 20 -d 3 --settle 2 --dsn"),
                server.dsn,
                "--json",
                str(report),
                "--no-live",
            ]
        )
        try:
            child.wait_for("try-finally /ok: load")
            time.sleep(0.5)
            server.restart()
            code = child.wait(90)
        finally:
            child.kill_everything()
    assert code == 4, child.output
    row = json.loads(report.read_text())["rows"][0]
    assert row["verdict"] == "INCONCLUSIVE", child.output
    assert "PostgreSQL restarted during the row" in " ".join(row["reasons"])
    # The pool's count stays a count: checkins of connections that failed to reconnect
    # inside a checkout are not returns of checkouts ("-157 checked out").
    pool = row["pool_after_settle"]
    assert pool["checkouts"] - pool["checkins"] - pool["detaches"] >= 0, pool
    assert "still has -" not in child.output


def test_verbose_streams_the_targets_output_live(tmp_path: Path, embedded_dsn: str) -> None:
    broken = tmp_path / "loud.py"
    broken.write_text(
        "print('loud app: importing')\napp = None\nraise RuntimeError('loud failure')\n"
    )
    result = runner.invoke(
        app,
        [
            *words("run -v --no-live --app"),
            f"{broken}:app",
            *words("-e /x --dsn"),
            embedded_dsn,
            *words("-d 1 --startup-timeout 20 --report-dir"),
            str(tmp_path / "reports"),
        ],
    )
    assert result.exit_code == 3, result.output
    lines = result.output.splitlines()
    assert "target| loud app: importing" in lines  # as the target printed it, before the verdict
    assert "target| RuntimeError: loud failure" in lines
    assert lines.index("target| loud app: importing") < next(
        i for i, line in enumerate(lines) if "FAILED" in line
    )
