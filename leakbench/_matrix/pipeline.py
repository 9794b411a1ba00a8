"""``run_matrix(config) -> MatrixResult``: the rows once per combination of versions.

Every environment is prepared first, so a combination that cannot be
installed fails the command before any load is spent. Then each column is an
ordinary :func:`leakbench._runner.pipeline.run` whose targets run on the column's
interpreter, with a copy of leakbench's target-side code on their
``PYTHONPATH`` (leakbench is not installed into the environments, so none of
its own dependencies is pinned there). A target whose declared minimum
versions the column does not meet is not run there: its cells are "n/a".
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from leakbench._matrix.environments import Environment, EnvironmentCache
from leakbench._progress.events import MatrixProgress, RunObserver
from leakbench._results import MatrixColumn, MatrixResult, RunResult
from leakbench._runner.pipeline import run
from leakbench._runner.result_parts import now
from leakbench._settings import RunConfig, Target, TargetInterpreter
from leakbench._settings.matrix import MatrixConfig, combinations, requirements, unmet_requirement
from leakbench._targets.interpreter import target_code_dir
from leakbench.errors import PartialRun
from leakbench.scenarios import DRIVER_ENV


def table_rows(config: RunConfig) -> tuple[tuple[str, str], ...]:
    """(pattern, endpoint) for every target and its routes, in run order."""
    return tuple(
        (target.name, workload.label)
        for target in config.targets
        for workload in config.workloads_for(target)
    )


def run_matrix(
    config: MatrixConfig,
    observer: RunObserver | None = None,
    progress: MatrixProgress | None = None,
) -> MatrixResult:
    """Prepare every environment, then run the rows on each; partial if interrupted."""
    progress = progress or MatrixProgress()
    started_at = now()
    cache = EnvironmentCache(config.env_cache)
    environments = []
    for combination in combinations(config.axes):
        environment = cache.prepare(
            combination, requirements(combination, config.extra_requirements)
        )
        progress.environment_ready(
            combination.label, reused=environment.reused, seconds=environment.seconds
        )
        environments.append(environment)
    columns: list[MatrixColumn] = []
    interrupted = False
    # The environments hold the app's stack, not leakbench: its target side goes on their path.
    code = target_code_dir()
    try:
        for index, environment in enumerate(environments):
            progress.column_started(index, len(environments), environment.combination.label)
            column = _run_column(config, environment, code, observer)
            columns.append(column)
            if column.result is not None and column.result.interrupted:
                interrupted = True
                break
    except KeyboardInterrupt:  # between rows (a server starting): the columns done are kept
        interrupted = True
    return MatrixResult(
        rows=table_rows(config.run),
        columns=tuple(columns),
        started_at=started_at,
        finished_at=now(),
        interrupted=interrupted,
    )


def _run_column(
    config: MatrixConfig, environment: Environment, code: Path, observer: RunObserver | None
) -> MatrixColumn:
    installed = dict(environment.packages)
    runnable: list[Target] = []
    not_applicable: list[tuple[str, str]] = []
    driver = environment.combination.driver
    for target in config.run.targets:
        reason = unmet_requirement(
            target.requires, installed, driver=driver, drivers=target.drivers
        )
        if reason is None:
            runnable.append(target)
        else:
            not_applicable.append((target.name, reason))
    result: RunResult | None = None
    if runnable:
        run_config = dataclasses.replace(
            config.run,
            targets=tuple(runnable),
            interpreter=TargetInterpreter(
                str(environment.python),
                (str(code),),
                ((DRIVER_ENV, driver),) if driver else (),
            ),
            combination=environment.combination.pins,
            target_logs=(
                config.run.target_logs / environment.combination.slug
                if config.run.target_logs is not None
                else None
            ),
        )
        try:
            result = run(run_config, observer)
        except PartialRun as partial:
            raise partial.cause from None  # a matrix reports whole columns only
    return MatrixColumn(
        combination=environment.combination.pins,
        packages=environment.packages,
        environment_reused=environment.reused,
        environment_seconds=round(environment.seconds, 2),
        result=result,
        not_applicable=tuple(not_applicable),
        report_folder=environment.combination.slug,
    )
