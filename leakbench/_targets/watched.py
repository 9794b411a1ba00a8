"""Watch mode: another tool drives the load, leakbench judges the database's connections.

``leakbench watch --dsn ... -- COMMAND`` takes the baseline, starts the
command, polls pg_stat_activity while it runs, settles after it exits and
judges, with the same row loop as every other kind of target and the attach
mode's view of an app leakbench did not start: no pool, no forced garbage
collection. A command that fails fails its row (exit 3) unless
:attr:`LoadCommand.judge_failed_load` says to judge it anyway (decided in
:mod:`leakbench._verdict.rows`).
"""

from __future__ import annotations

from collections.abc import Generator

from leakbench._postgres.server import Server
from leakbench._settings import COMMAND_ENDPOINT, LoadCommand, RunConfig, Workload
from leakbench._targets.handle import (
    Notices,
    PlannedRow,
    RowSpec,
    UnprobedApp,
    row_label,
    started_probes,
)
from leakbench._targets.loopback import check_command_urls
from leakbench._targets.users_app import UsersApp, database_of
from leakbench.errors import UsageError

VERSIONS_WARNING = (
    "The versions recorded are those of leakbench's own environment; the app you watched "
    "may run other ones, so note its own beside this report."
)
# The table's name for a watched row; its endpoint column shows the command.
WATCH_ROW_NAME = "watch"


class WatchedDatabase(UnprobedApp):
    """The :class:`leakbench._targets.handle.TargetHandle` of watch mode: only a database.

    leakbench starts no app and sends no request here: the pool is seen only
    when the app runs under ``leakbench probe``.
    """

    _MODE = "watch"


class WatchedTargets(UsersApp):
    """The one row of watch mode: another tool's load on the DSN's database.

    ``label`` names the row when the load is not a command (the Locust plugin).
    """

    kept_warnings: tuple[str, ...] = (VERSIONS_WARNING,)

    def __init__(self, config: RunConfig, label: str | None = None) -> None:
        assert config.watch is not None
        super().__init__(config, config.watch.application_name)
        self.label = label

    def check(self) -> list[str]:
        command = self.config.load_command
        if command is None:
            if self.label is not None:
                return []
            raise UsageError("leakbench watch needs a load command after '--'.")
        # Checked before the database is even reached, so a typo costs nothing.
        return check_command_urls(command)

    def rows(self, server: Server, notices: Notices) -> Generator[PlannedRow]:
        database = database_of(server)
        notices.database_created(database)  # not created here, but it is the one watched
        command = self.config.load_command
        label = self.label if self.label is not None else row_label(_given(command))
        yield PlannedRow(
            spec=RowSpec(
                name=WATCH_ROW_NAME,
                workload=Workload.single(COMMAND_ENDPOINT),
                max_connections=server.info.max_connections,
            ),
            label=label,
            duration=None,
            target_index=0,
            open=lambda: self._poller_of(server, database, WatchedDatabase(started_probes())),
        )


def _given(command: LoadCommand | None) -> LoadCommand:
    assert command is not None
    return command
