"""Ctrl-C and SIGTERM at each phase: exit code, partial report, and nothing left behind."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path

import psycopg

from leakbench._postgres.embedded import DIR_PREFIX
from leakbench._results import Verdict
from leakbench._runner.pipeline import run
from leakbench._settings import Endpoint, LoadSettings, RunConfig, VerdictSettings
from leakbench._settings.target_names import resolve_patterns
from leakbench._system import shutdown
from tests.reliability.spawn import Spawned, folders_of, no_survivors, words


def owned_databases(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'leakbench_%'")
        return {str(name) for (name,) in rows}


def test_sigint_during_load_keeps_finished_rows_and_removes_everything(
    spawn: list[Spawned], tmp_path: Path
) -> None:
    report = tmp_path / "r.json"
    child = Spawned([*words("run -p both -e ok -c 30 -d 2 --settle 2 --json"), str(report)])
    spawn.append(child)
    child.wait_for("CLEAN")  # the first row finished
    child.wait_for("try-finally /ok: load")
    time.sleep(0.5)
    assert child.descendants(), "the run should have a target and a server alive mid-load"
    child.signal(signal.SIGINT)
    assert child.wait(30) == 130
    assert no_survivors(child)
    assert not folders_of(child, DIR_PREFIX)
    assert not folders_of(child, "leakbench-run-")
    data = json.loads(report.read_text())
    assert data["interrupted"] is True
    assert [(r["pattern"], r["verdict"]) for r in data["rows"]] == [
        ("with-session", "CLEAN"),
        ("try-finally", "INTERRUPTED"),
    ]
    assert "interrupted by SIGINT" in child.output


def test_sigterm_during_settle_exits_143_and_drops_the_database(
    spawn: list[Spawned], tmp_path: Path, embedded_dsn: str
) -> None:
    before = owned_databases(embedded_dsn)
    report = tmp_path / "r.json"
    # The leaking scenario never settles, so the settle phase lasts the full 30 s.
    child = Spawned(
        [
            *words(
                "run -p global-session-cache -e ok -c 20 -d 1 --settle 30 --pool-timeout 1 --dsn"
            ),
            embedded_dsn,
            "--json",
            str(report),
        ]
    )
    spawn.append(child)
    child.wait_for("settle")
    time.sleep(0.5)
    child.signal(signal.SIGTERM)
    assert child.wait(30) == 143
    assert no_survivors(child)
    assert owned_databases(embedded_dsn) <= before
    data = json.loads(report.read_text())
    assert [r["verdict"] for r in data["rows"]] == ["INTERRUPTED"]


def test_sigint_during_start_up_leaves_nothing(spawn: list[Spawned]) -> None:
    child = Spawned(["run", "-p", "try-finally", "-c", "10", "-d", "1"])
    spawn.append(child)
    child.wait_for("database:")
    child.signal(signal.SIGINT)
    assert child.wait(30) == 130
    assert no_survivors(child)
    assert not folders_of(child, DIR_PREFIX)
    assert not folders_of(child, "leakbench-run-")


def test_a_second_ctrl_c_hurries_the_cleanup_without_orphans(spawn: list[Spawned]) -> None:
    child = Spawned(["run", "-p", "with-session", "-e", "ok", "-c", "50", "-d", "10"])
    spawn.append(child)
    child.wait_for("with-session /ok: load")
    time.sleep(1.0)
    child.signal(signal.SIGINT)
    time.sleep(0.05)
    child.signal(signal.SIGINT)
    started = time.monotonic()
    assert child.wait(30) == 130
    assert time.monotonic() - started < 15
    assert no_survivors(child)
    assert not folders_of(child, DIR_PREFIX)
    assert not folders_of(child, "leakbench-run-")
    assert "Traceback" not in child.output


def test_the_global_timeout_stops_the_run(
    spawn: list[Spawned], tmp_path: Path, embedded_dsn: str
) -> None:
    # The leaking scenario never settles: without the timeout the run would last 60 s.
    report = tmp_path / "r.json"
    child = Spawned(
        [
            *words("run -p global-session-cache -e ok -c 20 -d 1 --pool-timeout 1"),
            *words("--settle 60 --timeout 3 --dsn"),
            embedded_dsn,
            "--json",
            str(report),
        ]
    )
    spawn.append(child)
    assert child.wait(30) == 3
    assert no_survivors(child)
    assert "exceeded --timeout 3 s" in child.output
    data = json.loads(report.read_text())
    assert data["interrupted"] is True
    # Where the 3 s end depends on the machine's speed: before the row or inside it.
    assert all(row["verdict"] == "INTERRUPTED" for row in data["rows"])


def test_the_timeout_signal_keeps_the_finished_rows(
    spawn: list[Spawned], tmp_path: Path, embedded_dsn: str
) -> None:
    """The timer's SIGALRM, sent once the first row is done instead of waiting for it."""
    report = tmp_path / "r.json"
    child = Spawned(
        [
            *words("run -p try-finally -p global-session-cache -e ok -c 20 -d 1"),
            *words("--pool-timeout 1 --settle 60 --timeout 600 --dsn"),
            embedded_dsn,
            "--json",
            str(report),
        ]
    )
    spawn.append(child)
    child.wait_for("CLEAN")  # the first row finished
    child.wait_for("global-session-cache /ok: load → settle")
    child.signal(signal.SIGALRM)
    assert child.wait(30) == 3
    assert no_survivors(child)
    assert "exceeded --timeout 600 s" in child.output
    data = json.loads(report.read_text())
    assert data["interrupted"] is True
    assert [row["verdict"] for row in data["rows"]] == ["CLEAN", "INTERRUPTED"]


def test_a_stop_request_the_event_loop_swallowed_still_stops_the_run(embedded_dsn: str) -> None:
    """uvloop turns an exception raised in a transport callback into a log line; a
    KeyboardInterrupt raised there is lost. The stop request behind it is not."""
    config = RunConfig(
        targets=tuple(resolve_patterns(["with-session", "try-finally"])),
        endpoints=(Endpoint.parse("ok"),),
        load=LoadSettings(concurrency=20, duration=4.0),
        verdict=VerdictSettings(settle=2.0),
        dsn=embedded_dsn,
    )
    timer = threading.Timer(2.5, shutdown.request_stop)  # no exception: as if swallowed
    timer.start()
    try:
        result = run(config)
    finally:
        timer.cancel()
        shutdown.reset()
    assert result.interrupted
    assert [row.verdict for row in result.rows] == [Verdict.INTERRUPTED]
