"""``run_matrix(config) -> MatrixResult``: the rows once per combination of versions.

Every environment is prepared first, so a combination that cannot be
installed fails the command before any load is spent. Then each column is an
ordinary :func:`leakbench.runner.run.run` whose targets run on the column's
interpreter, with a copy of leakbench's target-side code on their
``PYTHONPATH`` (leakbench is not installed into the environments, so none of
its own dependencies is pinned there). A target whose declared minimum
versions the column does not meet is not run there: its cells are "n/a".
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import scenarios
from leakbench.config import RunConfig, Target, TargetInterpreter
from leakbench.errors import UsageError
from leakbench.matrix.axes import Axis, combinations, requirements, unmet_requirement
from leakbench.matrix.environments import Environment, EnvironmentCache, default_cache_dir
from leakbench.progress.events import MatrixProgress, RunObserver
from leakbench.results import MatrixColumn, MatrixResult, RunResult
from leakbench.runner.outcome import now
from leakbench.runner.run import run
from leakbench.system.processes import make_owned_folder, orphaned_folders
from scenarios import DRIVER_ENV

_CODE_DIR_PREFIX = "leakbench-code-"
_CODE_SUFFIXES = (".py", ".typed")


@dataclass(frozen=True, slots=True)
class MatrixConfig:
    """A run's settings, and the versions to run them on."""

    run: RunConfig
    axes: tuple[Axis, ...]
    # More requirements for every environment (--with), e.g. what a user's --app imports.
    extra_requirements: tuple[str, ...] = ()
    env_cache: Path = field(default_factory=default_cache_dir)

    def __post_init__(self) -> None:
        if self.run.attach is not None:
            raise UsageError(
                "leakbench matrix starts each target itself on each combination's versions; "
                "--url (attach mode) cannot be combined with it."
            )


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
    with _target_code() as code:
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
        )
        result = run(run_config, observer)
    return MatrixColumn(
        combination=environment.combination.pins,
        packages=environment.packages,
        environment_reused=environment.reused,
        environment_seconds=round(environment.seconds, 2),
        result=result,
        not_applicable=tuple(not_applicable),
        report_folder=environment.combination.slug,
    )


@contextlib.contextmanager
def _target_code() -> Iterator[Path]:
    """A folder holding a copy of the ``leakbench`` and ``scenarios`` packages' sources.

    Copied rather than pointing at where leakbench is installed: that folder
    (site-packages) would also hold leakbench's own FastAPI and SQLAlchemy.
    """
    for orphan in orphaned_folders(_CODE_DIR_PREFIX):  # left by a run killed with SIGKILL
        shutil.rmtree(orphan, ignore_errors=True)
    folder = make_owned_folder(_CODE_DIR_PREFIX)
    try:
        for package in (Path(__file__).resolve().parents[1], Path(scenarios.__file__).parent):
            shutil.copytree(package, folder / package.name, ignore=_not_source)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _not_source(directory: str, names: list[str]) -> set[str]:
    """Compiled files and anything else that is not a module or a package folder."""
    ignored = {"__pycache__"} & set(names)
    for name in names:
        if not name.endswith(_CODE_SUFFIXES) and not (Path(directory) / name).is_dir():
            ignored.add(name)
    return ignored
