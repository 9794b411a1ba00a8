"""Locust plugin: Locust drives the load (distributed if you like), leakbench judges.

Import it in your locustfile::

    import leakbench.locust  # noqa: F401

and run Locust with ``--leakbench-dsn postgresql://monitor@db-host/app``
(or ``LOCUST_LEAKBENCH_DSN``). On the master (or a single local process;
never on a worker) leakbench takes the baseline when the test starts,
samples pg_stat_activity while it runs, and when it stops lets the app
settle, judges, writes the reports, prints the table and sets Locust's
exit code from the verdict (0 CLEAN, 1 LEAKED, 3 failed, 4 inconclusive),
so a headless CI run fails on a leak. Locust's own request statistics
(requests, failures, p50/p95/p99) go into the row.

A headless run is judged when Locust quits, not at its ``test_stop``: a
headless master fires ``test_stop`` before its workers have stopped, and
only at quitting are their requests over and their final statistics in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from locust import events
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment
from locust.event import EventHook
from locust.runners import MasterRunner, WorkerRunner
from rich.console import Console

from leakbench._output import reports
from leakbench._output.style import make_console
from leakbench._output.terminal import render_report_paths, render_run
from leakbench._results import ExternalLoad, LatencySummary
from leakbench._runner.watch_session import WatchSession
from leakbench._settings import RunConfig, VerdictSettings, WatchTarget
from leakbench._settings.dsn import redact
from leakbench._targets.loopback import is_loopback
from leakbench._verdict.outcome import judge
from leakbench._verdict.thresholds import Thresholds
from leakbench.errors import LeakbenchError, UsageError

_OPTIONS_GROUP = "leakbench"


def _listen(hook: EventHook, handler: Callable[..., None]) -> None:
    # Locust's EventHook.add_listener has no annotations.
    hook.add_listener(handler)  # type: ignore[no-untyped-call]


def _add_options(parser: LocustArgumentParser) -> None:
    group = parser.add_argument_group(
        _OPTIONS_GROUP, "Judge the app's PostgreSQL connections under this load (leakbench)."
    )
    group.add_argument(
        "--leakbench-dsn",
        default="",
        env_var="LOCUST_LEAKBENCH_DSN",
        help="The app's database, whose connections leakbench judges (pg_monitor is enough). "
        "Without it the plugin does nothing.",
    )
    group.add_argument(
        "--leakbench-application-name",
        default="",
        env_var="LOCUST_LEAKBENCH_APPLICATION_NAME",
        help="Judge only connections with this application_name.",
    )
    group.add_argument(
        "--leakbench-settle",
        type=float,
        default=5.0,
        help="Most seconds to wait for the app to settle after the load.",
    )
    group.add_argument(
        "--leakbench-report-dir",
        default="",
        help="Write report.json, report.md, report.html and junit.xml here "
        "(default ./reports/<UTC timestamp>/).",
    )
    group.add_argument(
        "--leakbench-allow-remote",
        action="store_true",
        default=False,
        help="Allow a --host that is not on this machine (a staging service you own).",
    )


class LocustJudge:
    """leakbench's part of one Locust process: a watched row per test, judged at its end."""

    def __init__(self, environment: Environment, config: RunConfig, report_dir: Path) -> None:
        self.environment = environment
        self.config = config
        self.report_dir = report_dir
        self.session: WatchSession | None = None
        self.started = 0.0

    def test_start(self, **_: Any) -> None:
        self.finish()  # a web UI may start a new test without quitting
        session = WatchSession(self.config, label=self._label())
        self.started = time.monotonic()
        try:
            session.begin()
        except LeakbenchError as exc:
            session.close()
            self._fail(exc)
            return
        self.session = session

    def test_stop(self, **_: Any) -> None:
        # A headless master fires test_stop before its workers stop (see the module's note).
        options = self.environment.parsed_options
        if options is None or not options.headless:
            self.finish()

    def quitting(self, **_: Any) -> None:
        self.finish()

    def finish(self) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        with session:
            try:
                result = session.end(self._load())
                outcome = judge(result)
                directory = reports.prepare_dir(self.report_dir)
                reports.write_all(result, outcome, directory)
            except LeakbenchError as exc:
                self._fail(exc)
                return
        console = make_console()
        render_run(console, result, outcome)
        render_report_paths(console, directory)
        self.environment.process_exit_code = outcome.exit_code

    def _load(self) -> ExternalLoad:
        total = self.environment.stats.total
        return ExternalLoad(
            command=self._label(),
            elapsed_seconds=round(time.monotonic() - self.started, 3),
            requests=total.num_requests,
            failures=total.num_failures,
            latency=LatencySummary(
                p50=float(total.get_response_time_percentile(0.5) or 0.0),
                p95=float(total.get_response_time_percentile(0.95) or 0.0),
                p99=float(total.get_response_time_percentile(0.99) or 0.0),
                max=float(total.max_response_time or 0.0),
                mean=float(total.avg_response_time or 0.0),
            ),
        )

    def _label(self) -> str:
        runner = self.environment.runner
        if isinstance(runner, MasterRunner):
            return f"locust (master, {len(runner.clients)} workers)"
        return "locust"

    def _fail(self, exc: LeakbenchError) -> None:
        Console(stderr=True, highlight=False).print(
            f"[bold red]leakbench error:[/] {redact(str(exc))}", soft_wrap=True
        )
        self.environment.process_exit_code = exc.exit_code


def _config(options: Any) -> RunConfig:
    return RunConfig(
        targets=(),
        dsn=options.leakbench_dsn,
        verdict=VerdictSettings(settle=options.leakbench_settle),
        thresholds=Thresholds(),
        watch=WatchTarget(options.leakbench_application_name or None),
    )


def _check_host(environment: Environment, allow_remote: bool) -> None:
    host = urlsplit(environment.host or "").hostname
    if host and not allow_remote and not is_loopback(host):
        raise UsageError(
            f"--host {redact(environment.host or '')!r} is not on this machine; leakbench "
            "judges load on loopback only unless you pass --leakbench-allow-remote, and then "
            "only a service you own."
        )


def _on_init(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is None or not getattr(options, "leakbench_dsn", ""):
        return
    if isinstance(environment.runner, WorkerRunner):
        return  # workers only send requests; the master judges
    try:
        _check_host(environment, options.leakbench_allow_remote)
        config = _config(options)
    except LeakbenchError as exc:
        Console(stderr=True, highlight=False).print(
            f"[bold red]leakbench error:[/] {redact(str(exc))}", soft_wrap=True
        )
        raise SystemExit(exc.exit_code) from None
    folder = options.leakbench_report_dir
    judge = LocustJudge(environment, config, Path(folder) if folder else reports.default_dir())
    _listen(environment.events.test_start, judge.test_start)
    _listen(environment.events.test_stop, judge.test_stop)
    _listen(environment.events.quitting, judge.quitting)


_listen(events.init_command_line_parser, _add_options)
_listen(events.init, _on_init)
