"""Targets leakbench starts: a fresh process and a fresh database for every row.

For every target and endpoint (a row): the target is started on a fresh
process (so a leak in one row cannot starve the next) on a fresh database
(after its --setup-sql and --setup-cmd). The process runs on leakbench's own
interpreter, or on another one (a project's, or a matrix environment's:
:attr:`RunConfig.interpreter`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
from collections.abc import Generator, Iterator
from pathlib import Path

from leakbench.config import RunConfig, Target
from leakbench.postgres import admin
from leakbench.postgres import dsn as dsn_tools
from leakbench.postgres.poller import ActivityPoller, activity_poller
from leakbench.postgres.server import Server, open_server, server_warnings
from leakbench.system.processes import make_owned_folder, orphaned_folders
from leakbench.targets.commands import run_setup_commands
from leakbench.targets.env import database_environment
from leakbench.targets.handle import Notices, PlannedRow, RowSpec, TargetHandle, row_label
from leakbench.targets.loopback import check_command_urls
from leakbench.targets.process import TargetProcess
from leakbench.targets.setup import run_setup_sql
from leakbench.targets.spawn import Spare, spare_for_first_target

_WORK_DIR_PREFIX = "leakbench-run-"
# What {url} stands for when a --load-command is checked before any target has an address.
_ANY_LOCAL_URL = "http://127.0.0.1"


class SpawnedTargets:
    """The :class:`leakbench.targets.handle.Targets` of ``leakbench run`` and the matrix."""

    command_url: str | None = _ANY_LOCAL_URL
    kept_warnings: tuple[str, ...] = ()

    def __init__(self, config: RunConfig) -> None:
        self.config = config
        self._work: Path | None = None
        self._spare: Spare | None = None

    def check(self) -> list[str]:
        config = self.config
        warnings = [] if config.load_command is None else check_command_urls(config.load_command)
        if config.dsn is not None:
            dsn_tools.validate(config.dsn)  # a malformed --dsn is refused before a target starts
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
                work, enabled=not config.app_env, interpreter=config.interpreter
            ) as spare,
            open_server(config.dsn, config.startup_timeout) as server,
        ):
            self._work, self._spare = work, spare
            yield server

    def server_warnings(self, server: Server, notices: Notices) -> list[str]:
        for folder in server.removed_stale:
            notices.warning(f"Removed {folder}, an embedded server left by a killed run.")
        with admin.connect(server.admin_dsn) as conn:
            for name in admin.drop_stale_databases(conn):
                notices.warning(f"Dropped {name}, left by an earlier run that was killed.")
        return server_warnings(server)

    def hidden_reason(self, server: Server) -> str | None:
        del server
        return None  # leakbench's own role owns the database and sees every session

    def rows(self, server: Server, notices: Notices) -> Generator[PlannedRow]:
        config = self.config
        run_id = admin.new_run_id()
        command = config.load_command
        for index, target in enumerate(config.targets):
            database = f"{admin.DATABASE_PREFIX}{run_id}_{index}"
            with _owned_database(server, database):
                notices.database_created(database)
                self._set_up(server, database, target)
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
                        open=functools.partial(self.open_row, server, database, target),
                    )

    @contextlib.contextmanager
    def open_row(
        self, server: Server, database: str, target: Target
    ) -> Iterator[tuple[TargetHandle, ActivityPoller]]:
        """The row's own target process, and the poller of its database."""
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
                interpreter=config.interpreter,
            ) as process,
            activity_poller(server.admin_dsn, database, config.poll_interval) as poller,
        ):
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
            )


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
