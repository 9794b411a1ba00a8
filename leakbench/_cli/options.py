"""The options that ``run``, ``watch`` and ``matrix`` share, each declared once.

An option is an ``Annotated`` alias a command names as a parameter's type (the
default stays in the command's signature). Where the commands word an option
differently, a factory holds what they share (names, metavar, environment
variable) and each alias gives its own help and panel.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

# The help panels of `leakbench run -h`, in the order they are shown.
TARGETS = "Targets"
ATTACH = "Attach mode (an app you started)"
DATABASE = "Database"
LOAD = "Load"
REQUESTS = "Requests"
POOL = "Pool"
VERDICT = "Verdict"
THRESHOLDS = "Thresholds (exit 1 when crossed)"
OUTPUT = "Output"
VERSIONS = "Versions (one column per combination)"
LOAD_TOOL = "Load from your own tool (instead of leakbench's driver)"

DSN_ENV = "LEAKBENCH_DSN"
# Beyond any sensible number of seconds, requests or milliseconds (about 31 years
# of seconds); bigger values overflow timers deep inside instead of being refused.
LARGEST_NUMBER = 1e9


def finite_number(value: str | float) -> float:
    """The one check every float option shares: a number, finite, and not absurd.

    ``nan`` compares false with every bound, so a range check alone lets it
    through; ``inf`` and ``1e30`` overflow the timers they end up in.
    """
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise typer.BadParameter(f"{value!r} is not a number") from None
    if math.isnan(number) or math.isinf(number):
        raise typer.BadParameter(f"{value} is not a finite number; give a number such as 30")
    if abs(number) > LARGEST_NUMBER:
        raise typer.BadParameter(f"{value} is out of range; give at most {LARGEST_NUMBER:g}")
    return number


def _dsn(help_text: str) -> Any:
    return typer.Option(
        "--dsn",
        metavar="DSN",
        envvar=DSN_ENV,
        help=help_text,
        rich_help_panel=DATABASE,
        show_default=False,
    )


def _application_name(panel: str) -> Any:
    return typer.Option(
        "--application-name",
        metavar="NAME",
        help="Judge only connections with this application_name.",
        rich_help_panel=panel,
        show_default=False,
    )


def _allow_remote(help_text: str, panel: str) -> Any:
    return typer.Option("--allow-remote", metavar="", help=help_text, rich_help_panel=panel)


def _judge_failed_load(help_text: str, panel: str) -> Any:
    return typer.Option("--judge-failed-load", metavar="", help=help_text, rich_help_panel=panel)


def _load_timeout(help_text: str, panel: str) -> Any:
    return typer.Option(
        metavar="SECONDS", help=help_text, rich_help_panel=panel, parser=finite_number
    )


def _timeout(help_text: str) -> Any:
    return typer.Option(
        metavar="SECONDS", help=help_text, rich_help_panel=LOAD, parser=finite_number
    )


def _fail_on_leak(help_text: str) -> Any:
    return typer.Option(
        "--fail-on-leak/--no-fail-on-leak", metavar="", help=help_text, rich_help_panel=THRESHOLDS
    )


def _max_total_connections(help_text: str) -> Any:
    return typer.Option(metavar="N", help=help_text, rich_help_panel=THRESHOLDS, show_default=False)


def report_dir_option(help_text: str) -> Any:
    """``--report-dir``, worded for what the command writes there."""
    return typer.Option(
        "--report-dir", metavar="DIR", help=help_text, rich_help_panel=OUTPUT, show_default=False
    )


def _live(help_text: str) -> Any:
    return typer.Option("--live/--no-live", metavar="", help=help_text, rich_help_panel=OUTPUT)


Verbose = Annotated[
    bool,
    typer.Option(
        "--verbose",
        "-v",
        metavar="",
        help="Stream each target's output live to stderr (it is always saved in the "
        "report folder's logs/).",
        rich_help_panel=OUTPUT,
    ),
]


# run's wording (matrix takes run's options).
Dsn = Annotated[
    str | None,
    _dsn(
        "PostgreSQL server to use (postgresql://user:pass@host:port/db)."
        " Default: an embedded server started and removed by leakbench."
    ),
]
ApplicationName = Annotated[str | None, _application_name(ATTACH)]
AllowRemote = Annotated[bool, _allow_remote("Allow a --url that is not on this machine.", ATTACH)]
JudgeFailedLoad = Annotated[
    bool,
    _judge_failed_load(
        "Judge the row even when the load command fails "
        "(by default a failed command fails the row, exit 3).",
        LOAD_TOOL,
    ),
]
LoadTimeout = Annotated[
    float,
    _load_timeout("Stop the load command after this many seconds (the row fails).", LOAD_TOOL),
]
Timeout = Annotated[float, _timeout("Stop the whole command after this many seconds (rows kept).")]
FailOnLeak = Annotated[
    bool, _fail_on_leak("Exit 1 when a row is LEAKED. --no-fail-on-leak reports leaks but exits 0.")
]
MaxTotalConnections = Annotated[
    int | None, _max_total_connections("Exit 1 when a row's database ever holds more connections.")
]
Live = Annotated[
    bool,
    _live("Show each row live at a terminal. Plain lines when piped or with --no-live."),
]

# watch's wording: one row, an app the user started, any load command.
WatchDsn = Annotated[
    str | None,
    _dsn(
        "The database your app uses, whose connections are judged "
        "(a role with pg_monitor is enough). Required."
    ),
]
WatchApplicationName = Annotated[str | None, _application_name(DATABASE)]
WatchAllowRemote = Annotated[
    bool, _allow_remote("Allow URLs on the command line that are not on this machine.", LOAD)
]
WatchJudgeFailedLoad = Annotated[
    bool,
    _judge_failed_load(
        "Judge the connections even when the command fails "
        "(by default a failed command fails the run, exit 3).",
        LOAD,
    ),
]
WatchLoadTimeout = Annotated[
    float, _load_timeout("Stop the command after this many seconds (the run fails).", LOAD)
]
WatchTimeout = Annotated[float, _timeout("Stop the whole command after this many seconds.")]
WatchFailOnLeak = Annotated[
    bool,
    _fail_on_leak("Exit 1 when the row is LEAKED. --no-fail-on-leak reports leaks but exits 0."),
]
WatchMaxTotalConnections = Annotated[
    int | None, _max_total_connections("Exit 1 when the database ever holds more connections.")
]
WatchLive = Annotated[
    bool,
    _live("Show the row live at a terminal. Plain lines when piped or with --no-live."),
]

# Worded the same for every command.
Settle = Annotated[
    float,
    typer.Option(
        metavar="SECONDS",
        help="Most seconds to wait for the app to settle.",
        rich_help_panel=VERDICT,
        parser=finite_number,
    ),
]
MaxIdleInTransaction = Annotated[
    int,
    typer.Option(
        metavar="N",
        help="Idle-in-transaction connections tolerated after the settle.",
        rich_help_panel=VERDICT,
    ),
]
PollInterval = Annotated[
    float,
    typer.Option(
        metavar="SECONDS",
        help="Seconds between pg_stat_activity samples.",
        rich_help_panel=VERDICT,
        parser=finite_number,
    ),
]
ReportDir = Annotated[
    Path | None,
    report_dir_option(
        "Write report.json, report.md, report.html and junit.xml here (created if "
        "missing). Default: ./reports/<UTC timestamp>/."
    ),
]
JsonPath = Annotated[
    Path | None,
    typer.Option(
        "--json",
        metavar="FILE",
        help="Also write the JSON report here.",
        rich_help_panel=OUTPUT,
        show_default=False,
    ),
]
CodeQuality = Annotated[
    Path | None,
    typer.Option(
        "--codequality",
        metavar="FILE",
        help="Also write GitLab's code quality report (Code Climate JSON) here: an issue at "
        "each line of the app's code that took a leaked connection.",
        rich_help_panel=OUTPUT,
        show_default=False,
    ),
]
PrometheusPort = Annotated[
    int | None,
    typer.Option(
        metavar="PORT",
        help="Serve the live counts in Prometheus format on 127.0.0.1:PORT/metrics "
        "during the run (0: any free port).",
        rich_help_panel=OUTPUT,
        show_default=False,
    ),
]
