"""``leakbench watch``: judge an app's connections while another tool drives the load."""

from __future__ import annotations

from typing import Annotated

import typer

from leakbench._cli import options
from leakbench._cli.base import EXIT_CODES_HELP, exit_on_error
from leakbench._invoke import run_and_report
from leakbench._settings.options import WatchOptions

_DEFAULTS = WatchOptions()

EPILOG = (
    "Example: leakbench watch --dsn postgresql://monitor@127.0.0.1/shop "
    "--application-name shop -- wrk -t2 -c50 -d10s http://127.0.0.1:8000/orders\n\n"
    + EXIT_CODES_HELP
)


def watch_command(  # noqa: PLR0917 - typer maps each parameter to an option
    ctx: typer.Context,
    command: Annotated[
        list[str],
        typer.Argument(
            metavar="-- COMMAND [ARGS]...",
            help="The load: any command (wrk, oha, hey, k6 run, locust --headless, a test "
            "suite), run to its end.",
            show_default=False,
        ),
    ],
    dsn: options.WatchDsn = None,
    application_name: options.WatchApplicationName = None,
    allow_remote: options.WatchAllowRemote = _DEFAULTS.allow_remote,
    judge_failed_load: options.WatchJudgeFailedLoad = _DEFAULTS.judge_failed_load,
    load_timeout: options.WatchLoadTimeout = _DEFAULTS.load_timeout,
    timeout: options.WatchTimeout = _DEFAULTS.timeout,
    settle: options.Settle = _DEFAULTS.settle,
    max_idle_in_transaction: options.MaxIdleInTransaction = _DEFAULTS.max_idle_in_transaction,
    poll_interval: options.PollInterval = _DEFAULTS.poll_interval,
    fail_on_leak: options.WatchFailOnLeak = _DEFAULTS.fail_on_leak,
    max_total_connections: options.WatchMaxTotalConnections = None,
    report_dir: options.ReportDir = None,
    json_path: options.JsonPath = None,
    codequality_path: options.CodeQuality = None,
    live: options.WatchLive = _DEFAULTS.live,
    prometheus_port: options.PrometheusPort = None,
) -> None:
    """Judge your app's connections while another tool drives the load.

    Takes the baseline, starts COMMAND, samples pg_stat_activity while it runs,
    lets the app settle after it exits, and judges, with the same reports and
    exit codes as run. leakbench starts no app and sends no request itself.
    """
    parsed = WatchOptions(**ctx.params)
    exit_on_error(lambda: run_and_report(parsed))
