"""Several driver processes against a real uvicorn target (tests/load_target_app.py)."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import psutil
import pytest

from leakbench._load.driver import LoadPlan, LoadProgress
from leakbench._load.processes import run_load_processes
from leakbench._settings import Endpoint, Target
from leakbench._system import shutdown
from leakbench._targets.process import TargetProcess

# load_target_app.py, next to this file.
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetProcess]:
    app = Target("load-target", "load_target_app:app", kind="app", app_dir=HERE)
    with TargetProcess(app, dict(os.environ), tmp_path_factory.mktemp("target")) as process:
        yield process


def plan(target: TargetProcess, path: str, **changes: float | int | None) -> LoadPlan:
    values: dict[str, object] = {"concurrency": 10, "duration": 30.0, "requests": None}
    values.update(changes)
    return LoadPlan(
        base_url=target.base_url,
        endpoint=Endpoint("POST", path),
        concurrency=int(str(values["concurrency"])),
        duration=float(str(values["duration"])),
        requests=None if values["requests"] is None else int(str(values["requests"])),
    )


def read_count(target: TargetProcess) -> int:
    return int(httpx2.get(f"{target.base_url}/count/read", trust_env=False).text)


def driver_children() -> list[psutil.Process]:
    """Spawned driver processes still alive (not multiprocessing's resource tracker,
    which lives as long as this process and ends with it)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            if "spawn_main" in " ".join(child.cmdline()) and child.status() != "zombie":
                found.append(child)
    return found


def test_two_processes_send_exactly_the_budget_and_merge_every_latency(
    target: TargetProcess,
) -> None:
    before = read_count(target)
    progress = LoadProgress()
    stats = run_load_processes(plan(target, "/count", requests=333), progress, processes=2)
    assert read_count(target) - before == 333
    assert stats.sent == stats.completed == stats.responses == 333
    assert stats.status_counts == ((200, 333),)
    assert stats.driver_processes == 2 and stats.concurrency == 10
    # The live view's counters are the children's, summed.
    assert progress.sent == progress.completed == 333
    assert 0 < stats.latency.p50 <= stats.latency.p99 <= stats.latency.max
    assert driver_children() == []


def test_a_stop_request_ends_every_driver_process(target: TargetProcess) -> None:
    progress = LoadProgress()

    def stop_once_loading() -> None:
        deadline = time.monotonic() + 30
        while progress.completed == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        shutdown.request_stop()

    stopper = threading.Thread(target=stop_once_loading, daemon=True)
    stopper.start()
    started = time.monotonic()
    try:
        stats = run_load_processes(plan(target, "/status/200", duration=60.0), progress, 2)
    finally:
        stopper.join()
        shutdown.reset()
    assert time.monotonic() - started < 40
    assert stats.completed > 0 and stats.elapsed_seconds < 30
    assert driver_children() == []


def test_a_stop_before_the_start_still_returns_figures(target: TargetProcess) -> None:
    shutdown.request_stop()
    try:
        stats = run_load_processes(plan(target, "/status/200", duration=60.0), LoadProgress(), 2)
    finally:
        shutdown.reset()
    assert stats.sent == 0 and stats.driver_processes == 2
    assert driver_children() == []
