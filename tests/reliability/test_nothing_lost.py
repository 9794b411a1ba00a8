"""Issue 20, results: the rows that exist are reported whatever ends the run, into a folder of
the run's own.

Each fault is real: the embedded postmaster killed mid-row, a SIGINT landing
just after the last row's verdict, a --json path no file can take, and runs
started at the same instant in one folder.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import psycopg
import pytest
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._postgres.embedded import EmbeddedPostgres
from tests.reliability.outputs import assert_reports_written
from tests.reliability.spawn import Spawned, no_survivors, words

runner = CliRunner()


def _postmaster(child: Spawned) -> psutil.Process:
    """The embedded server leakbench started: its ``postgres`` child (not the backends)."""
    for proc in child.descendants():
        if proc.name() in {"postgres", "postmaster"} and proc.ppid() == child.process.pid:
            return proc
    raise AssertionError(f"no embedded postmaster among {child.descendants()}")


def test_the_embedded_server_killed_mid_run_keeps_the_finished_rows(
    spawn: list[Spawned], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    child = Spawned(
        [
            *words(
                "run -p both -e ok -c 10 -d 1 --settle 1 --request-timeout 2 --no-live --report-dir"
            ),
            str(out),
        ]
    )
    spawn.append(child)
    child.wait_for("with-session /ok: load → settle →  CLEAN")
    child.wait_for("try-finally /ok: load")
    time.sleep(0.3)
    _postmaster(child).kill()
    assert child.wait(90) == 3, child.output
    assert no_survivors(child)
    assert_reports_written(out)
    rows = json.loads((out / "report.json").read_text())["rows"]
    assert [(r["pattern"], r["verdict"]) for r in rows[:1]] == [("with-session", "CLEAN")]
    assert len(rows) == 2, rows
    assert rows[1]["verdict"] in {"FAILED", "INCONCLUSIVE"}
    assert rows[1]["error"] or rows[1]["findings"]["reasons"]
    assert "Overall:" in child.output  # the table of the rows that exist
    last = child.output.strip().splitlines()[-1]
    assert last.startswith("error: The embedded PostgreSQL server"), child.output
    assert "--dsn" not in last  # no --dsn was given: the hint must not name it


def test_a_sigint_right_after_the_last_row_still_writes_the_reports(
    spawn: list[Spawned], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    with EmbeddedPostgres() as server, psycopg.connect(server.dsn, autocommit=True) as watcher:

        def databases() -> int:
            row = watcher.execute(
                "SELECT count(*) FROM pg_database WHERE datname LIKE 'leakbench%'"
            ).fetchone()
            return int(row[0]) if row else 0

        child = Spawned(
            [
                *words("run -p try-finally -e ok -c 5 -d 1 --settle 1 --no-live --dsn"),
                server.dsn,
                *words(f"--report-dir {out}"),
            ]
        )
        spawn.append(child)
        child.wait_for("try-finally /ok: load → settle →  CLEAN")
        # The boundary: the last row is judged and its database dropped; what is left is
        # the run's own wrapping up, its reports and its table.
        deadline = time.monotonic() + 30
        while databases() and time.monotonic() < deadline:
            time.sleep(0.002)
        child.signal(signal.SIGINT)
        code = child.wait(60)
    assert code == 130, child.output
    assert no_survivors(child)
    assert_reports_written(out)
    rows = json.loads((out / "report.json").read_text())["rows"]
    assert [(r["pattern"], r["verdict"]) for r in rows] == [("try-finally", "CLEAN")]
    assert "Overall:" in child.output  # the table was printed
    assert "interrupted by SIGINT; finished rows were kept" in child.output


def test_an_unwritable_json_path_is_refused_before_anything_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    a_folder = tmp_path / "taken"
    a_folder.mkdir()
    for path, says in (
        (a_folder, "is a folder"),
        (Path("/proc/leakbench.json"), "cannot be written"),
    ):
        started = time.monotonic()
        result = runner.invoke(
            app, [*words("run -p try-finally -e ok -c 2 -d 1 --json"), str(path)]
        )
        assert result.exit_code == 2, result.output
        assert f"--json {path}" in result.output and says in result.output, result.output
        assert "database:" not in result.output  # nothing was started
        assert time.monotonic() - started < 10
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


_CLAIM = """
import datetime, os, sys, time
from pathlib import Path
from leakbench._output import reports
start, count = float(sys.argv[1]), int(sys.argv[2])
moment = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
time.sleep(max(0.0, start - time.time()))
for i in range(count):
    folder = reports.prepare_dir(reports.default_dir(moment))
    (folder / f"{os.getpid()}-{i}").touch()
"""


def test_runs_started_together_never_share_a_report_folder(tmp_path: Path) -> None:
    # Six processes claim twenty default folders each, all at one instant and within
    # one second's timestamp: every claim must get a folder of its own.
    start = time.time() + 2.0
    children = [
        subprocess.Popen([sys.executable, "-c", _CLAIM, str(start), "20"], cwd=tmp_path)
        for _ in range(6)
    ]
    assert all(child.wait(60) == 0 for child in children)
    folders = [p for p in (tmp_path / "reports").iterdir() if p.is_dir()]
    claims = {p.name: sorted(c.name for c in p.iterdir()) for p in folders}
    shared = {name: owners for name, owners in claims.items() if len(owners) != 1}
    assert not shared, f"folders claimed by two runs: {shared}"
    assert len(folders) == 120
