"""A stale embedded server is stopped only when its pid really is that postgres."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import psutil
import psycopg

from leakbench._postgres.embedded import DIR_PREFIX, EmbeddedPostgres, remove_stale_servers
from leakbench._system.processes import OWNER_FILE, release_owned_folder
from tests.fix_db import embedded_server


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


def _orphan_owner(folder: Path) -> None:
    (folder / OWNER_FILE).write_text(str(_dead_pid()))


def _stale_folder_naming(pid: int) -> Path:
    """A leftover server folder of a dead run whose postmaster.pid names ``pid``."""
    folder = Path(tempfile.mkdtemp(prefix=DIR_PREFIX))
    data = folder / "data"
    data.mkdir()
    # The pid of a reused slot, as postmaster.pid would name it after a reboot.
    (data / "postmaster.pid").write_text(f"{pid}\n{data}\n1700000000\n5432\n")
    _orphan_owner(folder)
    return folder


def test_an_unrelated_process_named_in_a_stale_postmaster_pid_survives() -> None:
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        folder = _stale_folder_naming(bystander.pid)

        assert folder in remove_stale_servers()

        assert not folder.exists()
        assert bystander.poll() is None, "an unrelated process was killed"
        assert psutil.Process(bystander.pid).is_running()
    finally:
        bystander.kill()
        bystander.wait()


def test_another_postgres_named_in_a_stale_postmaster_pid_survives(embedded_dsn: str) -> None:
    server = embedded_server()  # serves its own data folder, not the stale one
    assert server.pid is not None
    folder = _stale_folder_naming(server.pid)

    assert folder in remove_stale_servers()

    assert not folder.exists()
    with psycopg.connect(embedded_dsn) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_the_postgres_of_a_dead_run_is_stopped() -> None:
    server = EmbeddedPostgres()
    server.start()
    try:
        assert server.folder is not None and server.pid is not None
        folder, pid = server.folder, server.pid
        # As if the run that started it had been killed: its lock released, its pid gone.
        release_owned_folder(folder)
        _orphan_owner(folder)

        assert folder in remove_stale_servers()

        assert not folder.exists()
        # Stopped, not merely forgotten (the cleanup waited for it, reaping our own child).
        assert not psutil.pid_exists(pid)
    finally:
        server.stop()
