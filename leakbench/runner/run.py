"""``run(config) -> RunResult``: the whole pipeline, one row at a time.

For every target and endpoint (a row): start the target on a fresh process
(so a leak in one row cannot starve the next) on a fresh database (after
its --setup-sql and --setup-cmd), and measure the row (:mod:`leakbench.runner.row`). In attach
mode (``--url``, :mod:`leakbench.runner.attach`) and watch mode (:mod:`leakbench.runner.watch`)
the rows run against the user's app instead, with no process or database of leakbench's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from leakbench.config import RunConfig, Target, TargetInterpreter, Workload
from leakbench.errors import LeakbenchError, TargetStartError
from leakbench.load.command import CommandDriver, resolve
from leakbench.load.driver import LoadProgress
from leakbench.load.limits import ensure_open_files
from leakbench.load.processes import ProcessesDriver, chosen_processes
from leakbench.postgres import admin
from leakbench.postgres import dsn as dsn_tools
from leakbench.postgres.server import Server, open_server
from leakbench.progress.events import RunObserver
from leakbench.results import RowResult, RunResult, Verdict
from leakbench.runner import attach, watch
from leakbench.runner.outcome import interrupted_row, now, server_warnings, settings_for, warn
from leakbench.runner.row import (
    POLLER_APPLICATION_NAME,
    LoadStep,
    RowSpec,
    activity_poller,
    observe_row,
)
from leakbench.runner.versions import collect_from
from leakbench.system import shutdown
from leakbench.system.processes import make_owned_folder, orphaned_folders
from leakbench.target.commands import SetupCommandError, run_setup_commands
from leakbench.target.env import database_environment
from leakbench.target.interpreter import check
from leakbench.target.login import LoginError
from leakbench.target.process import TargetProcess
from leakbench.target.setup import run_setup_sql
from leakbench.target.spawn import Spare, spare_for_first_target

_WORK_DIR_PREFIX = "leakbench-run-"

__all__ = ["POLLER_APPLICATION_NAME", "run", "target_environment"]


def run(config: RunConfig, observer: RunObserver | None = None) -> RunResult:
    """Run every row of ``config`` and return the result, partial if interrupted."""
    observer = observer or RunObserver()
    # Before any target starts: targets inherit the raised open-file limit.
    ensure_open_files(config.load.concurrency)
    if config.watch is not None:
        return watch.run_watched(config, observer)
    if config.attach is not None:
        return attach.run_attached(config, observer)
    warnings = _command_warnings(config, observer)
    if config.dsn is not None:
        dsn_tools.validate(config.dsn)  # a malformed --dsn is refused before a target starts
    # The app's interpreter can serve it (uvicorn), before a server or target starts.
    app_versions = _AppVersions(
        dict(check(config.interpreter or TargetInterpreter.current()).packages)
    )
    started_at = now()
    rows: list[RowResult] = []
    interrupted = False
    current: tuple[str, str] | None = None
    with (
        _work_dir() as work,
        # Started first: its imports overlap the embedded server's start. A user's
        # --app-env is left out: libraries may read it while they are imported.
        spare_for_first_target(
            work, enabled=not config.app_env, interpreter=config.interpreter, echo=_echo(config)
        ) as spare,
        open_server(config.dsn, config.startup_timeout) as server,
    ):
        observer.run_started(server.description)
        for folder in server.removed_stale:
            observer.warning(f"Removed {folder}, an embedded server left by a killed run.")
        with admin.connect(server.admin_dsn) as conn:
            for name in admin.drop_stale_databases(conn):
                observer.warning(f"Dropped {name}, left by an earlier run that was killed.")
        run_id = admin.new_run_id()
        warn(observer, warnings, server_warnings(server))
        try:
            for index, target in enumerate(config.targets):
                database = f"{admin.DATABASE_PREFIX}{run_id}_{index}"
                with _owned_database(server, database):
                    observer.database_created(database)
                    _set_up(config, server, database, target)
                    for workload in config.workloads_for(target):
                        shutdown.check()
                        current = (target.name, workload.label)
                        row = _measure_row(
                            config=config,
                            server=server,
                            database=database,
                            target=target,
                            workload=workload,
                            work=work,
                            observer=observer,
                            spare=spare,
                            app_versions=app_versions,
                        )
                        current = None
                        rows.append(row)
                        observer.row_finished(row)
                        if row.start_failed:
                            rows.extend(_skipped_rows(config, target, workload, row))
                            break
        except KeyboardInterrupt:
            interrupted = True
            if current is not None:
                rows.append(interrupted_row(*current))
                observer.row_finished(rows[-1])
        return RunResult(
            rows=tuple(rows),
            versions=collect_from(app_versions.packages, server.info.version),
            settings=settings_for(config, server),
            started_at=started_at,
            finished_at=now(),
            interrupted=interrupted,
            warnings=tuple(warnings),
            combination=config.combination,
        )


class _AppVersions:
    """The app's versions: its interpreter's, then as the first target to answer read them."""

    def __init__(self, packages: dict[str, str]) -> None:
        self.packages = packages
        self._from_target = False

    def read_from(self, process: TargetProcess) -> None:
        if not self._from_target:
            answered = process.package_versions()
            if answered is not None:
                self.packages, self._from_target = answered, True


def _command_warnings(config: RunConfig, observer: RunObserver) -> list[str]:
    """Check a --load-command before anything starts: its program, and its URLs' hosts."""
    if config.load_command is None:
        return []
    resolve(config.load_command, "http://127.0.0.1")
    warnings = watch.check_command_urls(config.load_command)
    for text in warnings:
        observer.warning(text)
    return warnings


def _set_up(config: RunConfig, server: Server, database: str, target: Target) -> None:
    """The app's schema (--setup-sql), then its own set-up commands (--setup-cmd)."""
    if config.setup_sql is not None:
        run_setup_sql(_database_dsn(server, database), config.setup_sql)
    if config.setup_commands:
        run_setup_commands(
            config.setup_commands,
            target.app_dir or Path.cwd(),
            target_environment(config, server, database),
            python=config.interpreter.executable if config.interpreter else None,
        )


def _skipped_rows(
    config: RunConfig, target: Target, failed: Workload, row: RowResult
) -> list[RowResult]:
    """A target that cannot start fails every row left; starting it again would not help."""
    workloads = config.workloads_for(target)
    remaining = workloads[workloads.index(failed) + 1 :]
    return [
        RowResult(
            target.name,
            w.label,
            Verdict.FAILED,
            None,
            None,
            error=f"Not attempted: the target did not start for {row.endpoint} (see there).",
            start_failed=True,
        )
        for w in remaining
    ]


@contextlib.contextmanager
def _work_dir() -> Iterator[Path]:
    """Logs and probe sockets of this run's targets; removed at the end, or by the next run."""
    for orphan in orphaned_folders(_WORK_DIR_PREFIX):  # left by a run killed with SIGKILL
        shutil.rmtree(orphan, ignore_errors=True)
    path = make_owned_folder(_WORK_DIR_PREFIX)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _owned_database(server: Server, name: str) -> Iterator[None]:
    with admin.connect(server.admin_dsn) as conn:
        admin.create_owned_database(conn, name)
    try:
        yield
    finally:
        with admin.connect(server.admin_dsn) as conn:
            admin.drop_owned_database(conn, name)


def _database_dsn(server: Server, database: str) -> str:
    return dsn_tools.with_database(server.admin_dsn, database)


def target_environment(config: RunConfig, server: Server, database: str) -> dict[str, str]:
    """What the target sees: its database (DATABASE_URL, PG*, --app-env) and the pool settings."""
    params = dsn_tools.validate(_database_dsn(server, database))
    env = dict(os.environ)
    env.update(database_environment(params, config.app_env))
    env["LEAKBENCH_POOL_SIZE"] = str(config.pool.pool_size)
    env["LEAKBENCH_MAX_OVERFLOW"] = str(config.pool.max_overflow)
    env["LEAKBENCH_POOL_TIMEOUT"] = str(config.pool.pool_timeout)
    return env


def _measure_row(
    *,
    config: RunConfig,
    server: Server,
    database: str,
    target: Target,
    workload: Workload,
    work: Path,
    observer: RunObserver,
    spare: Spare,
    app_versions: _AppVersions,
) -> RowResult:
    """One row on a fresh target; its output is kept in the report folder, named when it fails."""
    # Not named after the target: an --app path would escape the work folder, and
    # the probe's Unix socket path must stay short (about 100 bytes at most).
    row_dir = Path(tempfile.mkdtemp(prefix="row-", dir=work))
    process = TargetProcess(
        target,
        target_environment(config, server, database),
        row_dir,
        workers=config.workers,
        startup_timeout=config.startup_timeout,
        spare=spare,
        interpreter=config.interpreter,
        echo=_echo(config),
    )
    kept: Path | None = None
    try:
        row = _measure_spawned(
            config=config,
            server=server,
            database=database,
            process=process,
            workload=workload,
            observer=observer,
            app_versions=app_versions,
        )
    finally:
        if config.target_logs is not None:  # the process has stopped: its output is complete
            kept = process.output.save(config.target_logs / output_file_name(target, workload))
    if row.verdict is Verdict.FAILED and row.error and kept is not None:
        # On the first line: the lines after it are the app's own (a traceback).
        first, newline, printed = row.error.partition("\n")
        error = f"{first} The target's whole output: {kept}{newline}{printed}"
        row = dataclasses.replace(row, error=error)
    return row


def _measure_spawned(
    *,
    config: RunConfig,
    server: Server,
    database: str,
    process: TargetProcess,
    workload: Workload,
    observer: RunObserver,
    app_versions: _AppVersions,
) -> RowResult:
    target = process.target
    progress = LoadProgress()
    try:
        with (
            process,
            activity_poller(server.admin_dsn, database, config.poll_interval) as poller,
        ):
            app_versions.read_from(process)
            if config.load_command is None:
                observer.row_started(target.name, workload.label, config.load.duration)
            else:
                observer.row_started(target.name, watch.row_label(config.load_command), None)
            spec = RowSpec(
                name=target.name,
                workload=workload,
                workers=config.workers,
                # leakbench sets a scenario's pool; an app's own pool is read by the probe.
                per_worker_capacity=config.pool.capacity if target.kind == "scenario" else None,
                max_connections=server.info.max_connections,
                per_worker_idle=config.pool.pool_size if target.kind == "scenario" else None,
            )
            command = config.load_command
            drive: LoadStep = (
                ProcessesDriver(chosen_processes(config.load.driver_processes, config.workers))
                if command is None
                else CommandDriver(resolve(command, process.base_url), command.time_limit)
            )
            row = observe_row(
                config=config,
                spec=spec,
                target=process,
                poller=poller,
                progress=progress,
                observer=observer,
                drive=drive,
            )
            if command is None:
                return row
            return watch.finish_command_row(row, command, watch.row_label(command))
    except TargetStartError as exc:
        return RowResult(
            target.name,
            workload.label,
            Verdict.FAILED,
            None,
            None,
            error=str(exc),
            start_failed=True,
        )
    except (LoginError, SetupCommandError):
        raise  # the whole run stops: no row of this app could be judged
    except LeakbenchError as exc:
        return RowResult(target.name, workload.label, Verdict.FAILED, None, None, error=str(exc))


def output_file_name(target: Target, workload: Workload) -> str:
    """``<target>-<endpoint>.log``: readable, one folder level, unique per row of a run."""
    text = f"{target.name}-{workload.label}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:120] + ".log"


def _echo(config: RunConfig) -> Callable[[str], None] | None:
    """With -v, each line the target prints goes to stderr as it comes (above a live view)."""
    if not config.stream_target_output:
        return None

    def echo(line: str) -> None:
        # sys.stderr is looked up on each line: a live view replaces it to print above itself.
        print(f"target| {line}", file=sys.stderr, flush=True)

    return echo
