"""Targets leakbench starts: a fresh process and a fresh database for every row.

For every target and endpoint (a row): the target is started on a fresh
process (so a leak in one row cannot starve the next) on a fresh database
(after its --setup-sql and --setup-cmd). The process runs on leakbench's own
interpreter, or on another one (a project's, or a matrix environment's:
:attr:`RunConfig.interpreter`, chosen by :mod:`leakbench._targets.interpreter`),
checked before anything starts. Each process's output is kept in the report
folder (:attr:`RunConfig.target_logs`) and, with ``-v``, streamed live.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path

from leakbench._postgres import admin
from leakbench._postgres.poller import ActivityPoller, activity_poller
from leakbench._postgres.server import Server, open_server, server_warnings
from leakbench._settings import RunConfig, Target, TargetInterpreter
from leakbench._settings import dsn as dsn_tools
from leakbench._system.processes import make_owned_folder, orphaned_folders, release_owned_folder
from leakbench._targets.env import database_environment
from leakbench._targets.handle import Notices, PlannedRow, RowSpec, TargetHandle, row_label
from leakbench._targets.importable import check_importable
from leakbench._targets.interpreter import check as check_interpreter
from leakbench._targets.interpreter import with_target_code
from leakbench._targets.loopback import check_command_urls
from leakbench._targets.process import TargetProcess
from leakbench._targets.setup_commands import run_setup_commands
from leakbench._targets.setup_sql import run_setup_sql
from leakbench._targets.spawn import Spare, spare_for_first_target

_WORK_DIR_PREFIX = "leakbench-run-"
# What {url} stands for when a --load-command is checked before any target has an address.
_ANY_LOCAL_URL = "http://127.0.0.1"


class SpawnedTargets:
    """The :class:`leakbench._targets.handle.Targets` of ``leakbench run`` and the matrix."""

    command_url: str | None = _ANY_LOCAL_URL
    kept_warnings: tuple[str, ...] = ()

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self.interpreter = with_target_code(config.interpreter or TargetInterpreter.current())
        self.app_versions: Mapping[str, str] | None = None
        self._versions_from_target = False
        self._work: Path | None = None
        self._spare: Spare | None = None

    def check(self) -> list[str]:
        config = self.config
        warnings = [] if config.load_command is None else check_command_urls(config.load_command)
        if config.dsn is not None:
            dsn_tools.validate(config.dsn)  # a malformed --dsn is refused before a target starts
        # The app's interpreter can serve it (uvicorn): refused before a server or target starts.
        self.app_versions = check_interpreter(self.interpreter).packages
        for target in config.targets:  # a misspelt --app costs no server start
            check_importable(target, self.interpreter, dict(os.environ))
        return warnings

    @contextlib.contextmanager
    def opened(self, notices: Notices) -> Iterator[Server]:
        del notices
        config = self.config
        with (
            _work_dir() as work,
            # Started first: its imports overlap the embedded server's start. A user's
            # --app-env is left out: libraries may read it while they are imported.
            spare_for_first_target(
                work,
                enabled=not config.app_env,
                interpreter=self.interpreter,
                echo=_echo(config),
            ) as spare,
            open_server(config.dsn, config.startup_timeout) as server,
        ):
            self._work, self._spare = work, spare
            yield server

    def server_warnings(self, server: Server, notices: Notices) -> list[str]:
        for folder in server.removed_stale:
            notices.warning(f"Removed {folder}, an embedded server left by a killed run.")
        with admin.connect(server.admin_dsn, embedded=server.embedded) as conn:
            for name in admin.drop_stale_databases(conn):
                notices.warning(f"Dropped {name}, left by an earlier run that was killed.")
        return server_warnings(server)

    def hidden_reason(self, server: Server) -> str | None:
        del server
        return None  # leakbench's own role owns the database and sees every session

    def prepared(self, server: Server, notices: Notices) -> Generator[tuple[int, Target, str]]:
        """Each target with its fresh database, set up; the database is dropped after it.

        The run holds its ownership of these databases for as long as they exist, so a
        concurrent run's stale-database clean-up leaves them alone.
        """
        run_id = admin.new_run_id()
        with admin.hold_ownership(server.admin_dsn, run_id, embedded=server.embedded):
            for index, target in enumerate(self.config.targets):
                database = f"{admin.DATABASE_PREFIX}{run_id}_{index}"
                with _owned_database(server, database, run_id):
                    notices.database_created(database)
                    self._set_up(server, database, target)
                    yield index, target, database

    def rows(self, server: Server, notices: Notices) -> Generator[PlannedRow]:
        config = self.config
        command = config.load_command
        for index, target, database in self.prepared(server, notices):
            for workload in config.workloads_for(target):
                yield PlannedRow(
                    spec=RowSpec(
                        name=target.name,
                        workload=workload,
                        workers=config.workers,
                        # leakbench sets a scenario's pool; an app's own is read by the probe.
                        per_worker_capacity=(
                            config.pool.capacity if target.kind == "scenario" else None
                        ),
                        max_connections=server.info.max_connections,
                        per_worker_idle=(
                            config.pool.pool_size if target.kind == "scenario" else None
                        ),
                    ),
                    label=workload.label if command is None else row_label(command),
                    duration=config.load.duration if command is None else None,
                    target_index=index,
                    open=functools.partial(self.open_row, server, database, target, workload.label),
                )

    @contextlib.contextmanager
    def open_row(
        self, server: Server, database: str, target: Target, label: str
    ) -> Iterator[tuple[TargetHandle, ActivityPoller]]:
        """The row's own target process, and the poller of its database.

        The process's output is kept as ``<target>-<label>.log`` in the run's logs folder.
        """
        config = self.config
        assert self._work is not None and self._spare is not None
        env = target_environment(config, server, database)
        # Not named after the target: an --app path would escape the work folder, and
        # the probe's Unix socket path must stay short (about 100 bytes at most).
        row_dir = Path(tempfile.mkdtemp(prefix="row-", dir=self._work))
        with (
            TargetProcess(
                target,
                env,
                row_dir,
                workers=config.workers,
                startup_timeout=config.startup_timeout,
                spare=self._spare,
                interpreter=self.interpreter,
                echo=_echo(config),
                output_copy=(
                    config.target_logs / output_file_name(target.name, label)
                    if config.target_logs is not None
                    else None
                ),
            ) as process,
            activity_poller(server.admin_dsn, database, config.poll_interval) as poller,
        ):
            if not self._versions_from_target:  # the first target to answer: read in the app
                answered = process.package_versions()
                if answered is not None:
                    self.app_versions, self._versions_from_target = answered, True
            yield process, poller

    def _set_up(self, server: Server, database: str, target: Target) -> None:
        """The app's schema (--setup-sql), then its own set-up commands (--setup-cmd)."""
        config = self.config
        if config.setup_sql is not None:
            run_setup_sql(_database_dsn(server, database), config.setup_sql)
        if config.setup_commands:
            run_setup_commands(
                config.setup_commands,
                target.app_dir or Path.cwd(),
                target_environment(config, server, database),
                python=self.interpreter.executable,
            )


def output_file_name(target: str, label: str) -> str:
    """``<target>-<endpoint>.log``: readable, one folder level, unique per row of a run."""
    text = f"{target}-{label}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")[:120] + ".log"


def _echo(config: RunConfig) -> Callable[[str], None] | None:
    """With -v, each line the target prints goes to stderr as it comes (above a live view)."""
    if not config.stream_target_output:
        return None

    def echo(line: str) -> None:
        # sys.stderr is looked up on each line: a live view replaces it to print above itself.
        print(f"target| {line}", file=sys.stderr, flush=True)

    return echo


@contextlib.contextmanager
def _work_dir() -> Iterator[Path]:
    """Logs and probe sockets of this run's targets; removed at the end, or by the next run."""
    for orphan in orphaned_folders(_WORK_DIR_PREFIX):  # left by a run killed with SIGKILL
        shutil.rmtree(orphan, ignore_errors=True)
    path = make_owned_folder(_WORK_DIR_PREFIX)
    try:
        yield path
    finally:
        release_owned_folder(path)
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def _owned_database(server: Server, name: str, run_id: str) -> Iterator[None]:
    with admin.connect(server.admin_dsn, embedded=server.embedded) as conn:
        admin.create_owned_database(conn, name, run_id)
    try:
        yield
    finally:
        with admin.connect(server.admin_dsn, embedded=server.embedded) as conn:
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
