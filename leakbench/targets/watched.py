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

import contextlib
import dataclasses
import re
import threading
import time
from collections.abc import Iterator
from pathlib import PurePath
from urllib.parse import urlsplit

from leakbench.config import COMMAND_ENDPOINT, LoadCommand, RunConfig, Workload
from leakbench.errors import LeakbenchError, RunError, UsageError
from leakbench.load.command import CommandDriver, resolve
from leakbench.load.driver import LoadPlan, LoadProgress
from leakbench.postgres.dsn import redact
from leakbench.postgres.privileges import Visibility
from leakbench.postgres.server import Server, open_server
from leakbench.progress.events import RunObserver
from leakbench.results import (
    ExternalLoad,
    RowResult,
    RunResult,
    RunSettings,
    Verdict,
)
from leakbench.runner import visibility
from leakbench.runner.attach import UnprobedApp, database_of, is_loopback
from leakbench.runner.outcome import now, settings_for
from leakbench.runner.row import LoadStep, RowSpec, activity_poller, observe_row
from leakbench.runner.users_app import run_on_users_app
from leakbench.runner.versions import collect

VERSIONS_WARNING = (
    "The versions recorded are those of leakbench's own environment; the app you watched "
    "may run other ones, so note its own beside this report."
)
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
    # What was measured stays in the row (its reasons are still true); it is just not the verdict.
    findings = row.findings
    if findings is not None:
        findings = dataclasses.replace(findings, verdict=Verdict.FAILED)
    return dataclasses.replace(
        row,
        verdict=Verdict.FAILED,
        findings=findings,
        error=f"The load command {what}, so the row is not judged; fix the command, or pass "
        f"--judge-failed-load to judge the connections anyway{output}",
    )


def _join(first: str | None, second: str) -> str:
    return f"{first} {second}" if first else second


class WatchedDatabase(UnprobedApp):
    """The :class:`leakbench.runner.row.TargetHandle` of watch mode: only a database.

    leakbench starts no app and sends no request here, so there is nothing to
    probe: no pool view, no forced collection, no process to check.
    """

    _MODE = "watch"


def watched_rows(config: RunConfig, server: Server, observer: RunObserver) -> Iterator[RowResult]:
    """The one row of watch mode: the command's load on the DSN's database."""
    command = config.load_command
    assert command is not None
    argv = resolve(command, None)
    label = row_label(command)
    row = _watched_row(config, server, observer, label, CommandDriver(argv, command.time_limit))
    yield finish_command_row(row, command, label)


def _watched_row(
    config: RunConfig, server: Server, observer: RunObserver, label: str, drive: LoadStep
) -> RowResult:
    """Measure the DSN's database while ``drive`` runs the load; a failure is a FAILED row."""
    watch = config.watch
    assert watch is not None
    database = database_of(server)
    observer.database_created(database)  # not created here, but it is the one watched
    spec = RowSpec(
        name=WATCH_ROW_NAME,
        workload=Workload.single(COMMAND_ENDPOINT),
        max_connections=server.info.max_connections,
    )
    observer.row_started(WATCH_ROW_NAME, label, None)
    try:
        with activity_poller(
            server.admin_dsn, database, config.poll_interval, watch.application_name
        ) as poller:
            return observe_row(
                config=config,
                spec=spec,
                target=WatchedDatabase(),
                poller=poller,
                progress=LoadProgress(),
                observer=observer,
                drive=drive,
            )
    except LeakbenchError as exc:
        return RowResult(WATCH_ROW_NAME, label, Verdict.FAILED, None, None, error=str(exc))


def run_watched(config: RunConfig, observer: RunObserver) -> RunResult:
    """Watch mode: a command loads the user's app; nothing started, created or dropped here."""
    command, watch = config.load_command, config.watch
    assert watch is not None
    if command is None:
        raise UsageError("leakbench watch needs a load command after '--'.")
    # Checked before the database is even reached, so a typo costs nothing.
    resolve(command, None)
    warnings = check_command_urls(command)
    for text in warnings:
        observer.warning(text)
    warnings.append(VERSIONS_WARNING)
    return run_on_users_app(
        config,
        observer,
        warnings=warnings,
        rows_of=watched_rows,
        application_name=watch.application_name,
        under_way=lambda finished: None if finished else (WATCH_ROW_NAME, row_label(command)),
        settings_of=lambda server: settings_for(config, server),
    )


class WatchSession:
    """A watched row whose load another tool drives and announces (the Locust plugin).

    :meth:`begin` takes the baseline and returns once the row is sampling,
    so the tool's load starts after it; :meth:`end` is given the tool's
    figures when its load is over, settles, judges and returns the result.
    The row runs :func:`observe_row` in a thread whose load step waits for
    :meth:`end`. Use it as a context manager so the server is always closed.
    """

    def __init__(self, config: RunConfig, label: str, observer: RunObserver | None = None) -> None:
        assert config.watch is not None
        self.config = config
        self.label = label
        self.observer = observer or RunObserver()
        self.warnings: list[str] = []
        self._stack = contextlib.ExitStack()
        self._server: Server | None = None
        self._seen: Visibility | None = None
        self._sampling = threading.Event()
        self._load_over = threading.Event()
        self._load: ExternalLoad | None = None
        self._row: RowResult | None = None
        self._thread: threading.Thread | None = None
        self._started_at = ""

    def __enter__(self) -> WatchSession:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def begin(self, timeout: float = 30.0) -> None:
        """Open the server, take the baseline and start sampling; return when the load may start."""
        self._started_at = now()
        server = self._server = self._stack.enter_context(
            open_server(self.config.dsn, self.config.startup_timeout)
        )
        self.observer.run_started(server.description)
        self._seen = visibility.role_visibility(server)
        self.warnings = [*visibility.warnings_for(self._seen), VERSIONS_WARNING]
        self._thread = threading.Thread(target=self._observe, name="leakbench-watch", daemon=True)
        self._thread.start()
        if not self._sampling.wait(timeout) and self._row is None:
            raise RunError("leakbench could not take the baseline in time; check --dsn.")

    def end(self, load: ExternalLoad) -> RunResult:
        """The load is over: settle, judge, and return the run's result."""
        assert self._server is not None and self._seen is not None and self._thread is not None
        self._load = load
        self._load_over.set()
        self._thread.join()
        row = self._row or RowResult(
            WATCH_ROW_NAME, self.label, Verdict.FAILED, None, None, error="The row did not finish."
        )
        watch = self.config.watch
        assert watch is not None
        row = visibility.checked_row(row, self._server, self._seen, watch.application_name)
        self.observer.row_finished(row)
        return RunResult(
            rows=(row,),
            versions=collect(self._server.info.version),
            settings=self._settings(load.command),
            started_at=self._started_at,
            finished_at=now(),
            warnings=tuple(self.warnings),
        )

    def close(self) -> None:
        self._load_over.set()  # a row still waiting for the load ends now
        if self._thread is not None:
            self._thread.join(timeout=self.config.verdict.settle + 30)
        self._stack.close()

    def _observe(self) -> None:
        server = self._server
        assert server is not None
        try:
            row = _watched_row(self.config, server, self.observer, self.label, self._await_load)
            self._row = dataclasses.replace(row, endpoint=self.label)
        except LeakbenchError as exc:
            self._row = RowResult(
                WATCH_ROW_NAME, self.label, Verdict.FAILED, None, None, error=str(exc)
            )
        finally:
            self._sampling.set()

    def _await_load(self, plan: LoadPlan, progress: LoadProgress) -> ExternalLoad:
        del plan
        progress.started_at = time.monotonic()
        progress.load_tool = self.label
        self._sampling.set()
        self._load_over.wait()
        return self._load or ExternalLoad(command=self.label, elapsed_seconds=0.0, stopped=True)

    def _settings(self, command: str) -> RunSettings:
        server, watch = self._server, self.config.watch
        assert server is not None and watch is not None
        verdict = self.config.verdict
        return RunSettings(
            database=server.description,
            embedded_database=server.embedded,
            concurrency=0,
            duration_seconds=None,
            requests_per_row=None,
            request_timeout_seconds=0.0,
            pool_size=0,
            max_overflow=0,
            pool_timeout_seconds=0.0,
            workers=0,
            settle_seconds=verdict.settle,
            quiet_period_seconds=verdict.quiet_period,
            max_idle_in_transaction=verdict.max_idle_in_transaction,
            poll_interval_seconds=self.config.poll_interval,
            server_max_connections=server.info.max_connections,
            idle_in_transaction_session_timeout=server.info.idle_in_transaction_session_timeout,
            application_name=watch.application_name,
            fail_on_leak=self.config.thresholds.fail_on_leak,
            max_total_connections=self.config.thresholds.max_total_connections,
            load_command=command,
            watched=True,
        )
