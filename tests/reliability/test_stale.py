"""Leftovers of a run killed with SIGKILL are found and cleaned by the next run."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest
from psycopg import sql

from leakbench._postgres.embedded import DIR_PREFIX
from tests.reliability.spawn import Spawned, folders_of, no_survivors, words


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    probe = subprocess.Popen(["true"])
    probe.wait()
    return probe.pid


def _is_target(process: psutil.Process) -> bool:
    try:
        return "leakbench._targets.boot" in " ".join(process.cmdline())
    except psutil.Error:
        return False


@pytest.fixture
def private_tmpdir() -> Iterator[Path]:
    """A TMPDIR of the test's own, so no other run on the machine cleans its leftovers first.

    Short (under /tmp), as the probe's Unix socket path inside it must stay short;
    open to all like /tmp, as the embedded server may run as another user.
    """
    path = Path(tempfile.mkdtemp(prefix="lb-"))
    path.chmod(0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_sigkilled_run_leaves_no_target_and_its_server_is_cleaned_next_time(
    private_tmpdir: Path,
) -> None:
    child = Spawned(
        ["run", "-p", "with-session", "-e", "ok", "-c", "20", "-d", "20"], tmpdir=private_tmpdir
    )
    try:
        child.wait_for("with-session /ok: load")
        time.sleep(0.5)
        (folder,) = folders_of(child, DIR_PREFIX)
        (work_dir,) = folders_of(child, "leakbench-run-")
        child.signal(signal.SIGKILL)
        child.wait(10)
        # The target dies with its parent (after uvicorn's graceful shutdown, up to 3 s);
        # the server is left for the next run.
        deadline = time.monotonic() + 10
        while any(_is_target(p) for p in child.descendants()) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = child.descendants()
        assert not any(_is_target(p) for p in survivors)
        assert folder.exists()
        assert work_dir.exists()
        assert any(p.name() == "postgres" for p in survivors)

        cleaner = Spawned(
            ["run", "-p", "try-finally", "-e", "ok", "-c", "5", "-d", "0.5", "--settle", "1"],
            tmpdir=private_tmpdir,
        )
        assert cleaner.wait(60) == 0, cleaner.output
        assert f"Removed {folder}" in cleaner.output
        assert not folder.exists()
        assert not work_dir.exists()
        assert no_survivors(child)
    finally:
        child.kill_everything()


def test_a_leftover_database_of_a_dead_run_is_dropped_and_nothing_else(
    embedded_dsn: str, tmp_path: Path
) -> None:
    stale, foreign, lookalike = "leakbench_deadbeef_0", "someone_elses", "leakbench_not_ours"
    with psycopg.connect(embedded_dsn, autocommit=True) as conn:
        for name in (stale, foreign, lookalike):
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        owner = json.dumps(
            {
                "tag": "leakbench-owned",
                "host": __import__("socket").gethostname(),
                "pid": _dead_pid(),
            }
        )
        conn.execute(
            sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                sql.Identifier(stale), sql.Literal(owner)
            )
        )
    try:
        child = Spawned(
            [*words("run -p try-finally -e ok -c 5 -d 0.5 --settle 1 --dsn"), embedded_dsn]
        )
        assert child.wait(60) == 0, child.output
        assert f"Dropped {stale}" in child.output
        with psycopg.connect(embedded_dsn) as conn:
            names = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        assert stale not in names
        assert {foreign, lookalike} <= names  # not leakbench's: never touched
    finally:
        with psycopg.connect(embedded_dsn, autocommit=True) as conn:
            for name in (stale, foreign, lookalike):
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
    assert psutil.pid_exists(1)
