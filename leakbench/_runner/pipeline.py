"""``run(config) -> RunResult``: the whole pipeline, one row at a time.

The kind of target comes from the configuration: leakbench starts each row's
target (:mod:`leakbench._targets.spawned`), attaches to the user's app
(``--url``, :mod:`leakbench._targets.attached`) or watches a database another
tool loads (:mod:`leakbench._targets.watched`); the same row loop
(:mod:`leakbench._runner.loop`) measures them all.
"""

from __future__ import annotations

from leakbench._load.limits import ensure_open_files
from leakbench._postgres.poller import POLLER_APPLICATION_NAME
from leakbench._progress.events import RunObserver
from leakbench._results import RunResult
from leakbench._runner.all_routes import RouteTargets
from leakbench._runner.loop import run_rows
from leakbench._settings import RunConfig
from leakbench._targets.attached import AttachedTargets
from leakbench._targets.handle import Targets
from leakbench._targets.spawned import SpawnedTargets, target_environment
from leakbench._targets.watched import WatchedTargets

__all__ = ["POLLER_APPLICATION_NAME", "run", "target_environment", "targets_for"]


def targets_for(config: RunConfig) -> Targets:
    """The kind of target ``config`` names."""
    if config.watch is not None:
        return WatchedTargets(config)
    if config.attach is not None:
        return AttachedTargets(config)
    return SpawnedTargets(config)


def run(config: RunConfig, observer: RunObserver | None = None) -> RunResult:
    """Run every row of ``config`` and return the result, partial if interrupted."""
    observer = observer or RunObserver()
    # Before any target starts: targets inherit the raised open-file limit.
    ensure_open_files(config.load.concurrency)
    if config.all_routes is not None:
        return run_rows(config, RouteTargets(config, observer), observer)
    return run_rows(config, targets_for(config), observer)
