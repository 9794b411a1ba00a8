"""The spare target interpreter: claimed once, launched with the row's order, never left behind."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx2
import psutil
import pytest
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._settings import Target
from leakbench._targets.process import TargetProcess
from leakbench._targets.spawn import Spare, boot, spare_for_first_target

pytestmark = pytest.mark.quick  # a real server, but well under a second per test

APP_SOURCE = """\
import json, os, sys
PRELOADED = "sqlmodel" in sys.modules  # the probe imports sqlalchemy, nothing imports sqlmodel

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    seen = {
        "value": os.environ.get("SPARE_TEST_VALUE"),
        "unbuffered": os.environ.get("PYTHONUNBUFFERED"),
        "cwd": os.getcwd(),
        "preloaded": PRELOADED,
    }
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": json.dumps(seen).encode()})
"""


def _boot_processes() -> list[psutil.Process]:
    return [
        child
        for child in psutil.Process().children(recursive=True)
        if "leakbench._targets.boot" in " ".join(child.cmdline())
    ]


def _app_target(tmp_path: Path) -> Target:
    app_dir = tmp_path / "app"
    app_dir.mkdir()
    (app_dir / "spare_probe_app.py").write_text(APP_SOURCE)
    return Target("spare-probe", "spare_probe_app:app", kind="app", app_dir=app_dir)


def _environment(**extra: str) -> dict[str, str]:
    """The test's environment without PYTHONUNBUFFERED, which leakbench must add itself."""
    return {**{k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}, **extra}


def _answer(process: TargetProcess) -> tuple[str | None, str, bool]:
    seen = httpx2.get(process.base_url + "/", trust_env=False).json()
    assert seen["unbuffered"] == "1"  # passed on to uvicorn's workers, so a crash reaches the log
    return seen["value"], seen["cwd"], seen["preloaded"]


def test_the_first_target_runs_in_the_spare_with_its_own_environment_and_folder(
    tmp_path: Path,
) -> None:
    target = _app_target(tmp_path)
    env = _environment(SPARE_TEST_VALUE="from-the-launch-order")
    with spare_for_first_target(tmp_path, enabled=True) as spare:
        [spare_process] = _boot_processes()
        with TargetProcess(target, env, tmp_path / "row", spare=spare) as process:
            assert process.pid == spare_process.pid
            value, cwd, preloaded = _answer(process)
        assert (value, cwd, preloaded) == ("from-the-launch-order", str(target.app_dir), True)
    assert not _boot_processes()


def test_a_later_target_starts_cold_once_the_spare_is_claimed(tmp_path: Path) -> None:
    target = _app_target(tmp_path)
    env = _environment()
    with spare_for_first_target(tmp_path, enabled=True) as spare:
        claimed = spare.claim()
        assert claimed is not None
        claimed.stop()
        with TargetProcess(target, env, tmp_path / "row", spare=spare) as process:
            _, cwd, preloaded = _answer(process)
        assert (cwd, preloaded) == (str(target.app_dir), False)


def test_an_unclaimed_spare_is_stopped_with_the_block(tmp_path: Path) -> None:
    with spare_for_first_target(tmp_path, enabled=True) as spare:
        # Its log says why, if the spare is gone already (seen once under a loaded CI).
        log = "".join(p.read_text() for p in tmp_path.glob("spare.log*"))
        assert len(_boot_processes()) == 1, (spare, log)
    assert not _boot_processes()


def test_a_spare_that_died_is_passed_over(tmp_path: Path) -> None:
    booted = boot(tmp_path / "spare.log", Path.cwd(), preload=True)
    os.kill(booted.process.pid, signal.SIGKILL)
    booted.process.wait(10)
    spare = Spare(booted)
    with TargetProcess(_app_target(tmp_path), dict(os.environ), tmp_path / "row", spare=spare) as p:
        assert p.pid != booted.process.pid
        assert p.alive()
    assert not _boot_processes()


def test_a_spare_whose_leakbench_went_away_exits_by_itself(tmp_path: Path) -> None:
    booted = boot(tmp_path / "spare.log", Path.cwd())
    assert booted.process.stdin is not None
    booted.process.stdin.close()  # what the spare sees when leakbench dies
    assert booted.process.wait(30) == 0


def test_a_run_that_cannot_reach_its_database_leaves_no_spare_behind() -> None:
    result = CliRunner().invoke(
        app, ["run", "-p", "try-finally", "--dsn", "postgresql://u@127.0.0.1:1/app", "-d", "1"]
    )
    assert result.exit_code == 3, result.output
    assert "Cannot connect to PostgreSQL" in result.output
    assert not _boot_processes()
