"""Watch mode: another tool drives the load, leakbench judges the database's connections.

``leakbench watch --dsn ... -- COMMAND`` takes the baseline, starts the
command, polls pg_stat_activity while it runs, settles after it exits and
judges, with the same row procedure as every other row
(:func:`leakbench.runner.row.observe_row`) and the attach mode's view of an
app leakbench did not start: no pool, no forced garbage collection.
``leakbench run --load-command`` uses the same load step on a target
leakbench started. A command that fails fails its row (exit 3) unless
:attr:`LoadCommand.judge_failed_load` says to judge it anyway.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import PurePath
from urllib.parse import urlsplit

from leakbench.config import COMMAND_ENDPOINT, LoadCommand, RunConfig
from leakbench.errors import LeakbenchError, UsageError
from leakbench.load.command import CommandDriver, resolve
from leakbench.load.driver import LoadProgress
from leakbench.postgres.dsn import redact
from leakbench.postgres.server import Server
from leakbench.progress.events import RunObserver
from leakbench.results import PoolStats, RowResult, Verdict
from leakbench.runner.attach import database_of, is_loopback
from leakbench.runner.row import RowSpec, activity_poller, observe_row

# The table's name for a watched row; its endpoint column shows the command.
WATCH_ROW_NAME = "watch"
_URL_IN_ARGUMENT = re.compile(r"https?://[^\s'\"]+")


def check_command_urls(command: LoadCommand) -> list[str]:
    """Refuse a URL on the command line that is not loopback, unless allowed; return warnings.

    Only what is on the command line can be checked: a URL inside a k6 or
    Locust script is the user's to keep on their own machines.
    """
    remote: list[str] = []
    for argument in command.argv:
        for url in _URL_IN_ARGUMENT.findall(argument):
            host = urlsplit(url).hostname or ""
            if host and not is_loopback(host):
                remote.append(redact(url))
    if not remote:
        return []
    if not command.allow_remote:
        raise UsageError(
            f"The load command targets {remote[0]!r}, which is not on this machine; leakbench "
            "loads only 127.0.0.1/::1 unless you pass --allow-remote, and then only a service "
            "you own."
        )
    return [
        f"The load command targets {', '.join(remote)}, not on this machine (--allow-remote): "
        "make sure you own it and that this load cannot hurt anyone."
    ]


def row_label(command: LoadCommand) -> str:
    """The table's endpoint column for a command's row: its program (the notes give it whole)."""
    return f"$ {PurePath(command.argv[0]).name}"


def finish_command_row(row: RowResult, command: LoadCommand, label: str) -> RowResult:
    """Name the row after the command and fail it if the command failed (unless told otherwise)."""
    endpoint = label if row.endpoint == COMMAND_ENDPOINT.label else row.endpoint
    row = dataclasses.replace(row, endpoint=endpoint)
    external = row.external
    if external is None or not external.failed:
        return row
    if external.stopped:
        what = f"was stopped after {external.elapsed_seconds:.1f} s (its time limit or a stop)"
    else:
        what = f"exited with code {external.exit_code}"
    output = f"; its output ends: {external.output_tail}" if external.output_tail else ""
    if row.verdict in (Verdict.FAILED, Verdict.INTERRUPTED):
        return dataclasses.replace(row, error=_join(row.error, f"The load command {what}{output}"))
    if command.judge_failed_load:
        note = f"The load command {what} (judged anyway: --judge-failed-load){output}"
        return dataclasses.replace(row, error=_join(row.error, note))
    return dataclasses.replace(
        row,
        verdict=Verdict.FAILED,
        error=f"The load command {what}, so the row is not judged; fix the command, or pass "
        f"--judge-failed-load to judge the connections anyway{output}",
    )


def _join(first: str | None, second: str) -> str:
    return f"{first} {second}" if first else second


class WatchedDatabase:
    """The :class:`leakbench.runner.row.TargetHandle` of watch mode: only a database.

    leakbench starts no app and sends no request here, so there is nothing to
    probe: no pool view, no forced collection, no process to check.
    """

    base_url = ""

    def alive(self) -> bool:
        return True

    def exit_code(self) -> int | None:
        return None

    def log_tail(self, lines: int = 8) -> str:
        del lines
        return "(watch mode: leakbench has no log of an app it did not start)"

    def pool_stats(self) -> PoolStats | None:
        return None

    def force_gc(self) -> bool:
        return False


def watched_rows(config: RunConfig, server: Server, observer: RunObserver) -> Iterator[RowResult]:
    """The one row of watch mode: the command's load on the DSN's database."""
    command, watch = config.load_command, config.watch
    assert command is not None and watch is not None
    argv = resolve(command, None)
    label = row_label(command)
    database = database_of(server)
    observer.database_created(database)  # not created here, but it is the one watched
    spec = RowSpec(
        name=WATCH_ROW_NAME, endpoint=COMMAND_ENDPOINT, max_connections=server.info.max_connections
    )
    observer.row_started(WATCH_ROW_NAME, label, None)
    try:
        with activity_poller(
            server.admin_dsn, database, config.poll_interval, watch.application_name
        ) as poller:
            row = observe_row(
                config=config,
                spec=spec,
                target=WatchedDatabase(),
                poller=poller,
                progress=LoadProgress(),
                observer=observer,
                drive=CommandDriver(argv, command.time_limit),
            )
    except LeakbenchError as exc:
        row = RowResult(WATCH_ROW_NAME, label, Verdict.FAILED, None, None, error=str(exc))
    yield finish_command_row(row, command, label)
