"""The options of ``leakbench run`` that ``watch`` does not take (``matrix`` takes them all).

What to start and how to load it: targets, attach mode, the fresh database's
set-up, the load, the scenarios' pool and run's own thresholds (what the load
sends is in :mod:`leakbench._cli.request_options`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leakbench import scenarios
from leakbench._cli.options import (
    ATTACH,
    DATABASE,
    LOAD,
    LOAD_TOOL,
    POOL,
    TARGETS,
    THRESHOLDS,
    finite_number,
)
from leakbench._settings import PLACEHOLDER_HELP, defaults


def _complete_pattern(incomplete: str) -> list[tuple[str, str]]:
    """Scenario names (and both, all) for shell completion of --pattern."""
    choices = [
        ("both", "the pull request's two scenarios"),
        ("all", "every shipped scenario"),
        *((s.name, f"{s.expected}: {s.summary}") for s in scenarios.SCENARIOS),
    ]
    return [(name, help_text) for name, help_text in choices if name.startswith(incomplete)]


Pattern = Annotated[
    list[str] | None,
    typer.Option(
        "--pattern",
        "-p",
        metavar="NAME",
        help="Scenario to test: a name, 'both' (the PR's two) or 'all'. Repeatable.",
        autocompletion=_complete_pattern,
        rich_help_panel=TARGETS,
        show_default=False,
    ),
]
AppSpec = Annotated[
    list[str] | None,
    typer.Option(
        "--app",
        metavar="APP",
        help="Your app: 'path/to/main.py:app' or 'pkg.module:app'. Repeatable.",
        rich_help_panel=TARGETS,
        show_default=False,
    ),
]
AppDir = Annotated[
    Path | None,
    typer.Option(
        "--app-dir",
        metavar="DIR",
        help="Folder a module app is imported from and --setup-cmd runs in "
        "(default: the settings file's folder, else the current folder).",
        rich_help_panel=TARGETS,
        show_default=False,
    ),
]
Workers = Annotated[
    int,
    typer.Option(metavar="N", help="uvicorn workers per target.", rich_help_panel=TARGETS),
]
Python = Annotated[
    Path | None,
    typer.Option(
        "--python",
        metavar="PATH",
        help="The app's Python (or its virtual environment's folder) to run targets and "
        "--setup-cmd with. Default: the active VIRTUAL_ENV, else a .venv beside the "
        "settings file, else leakbench's own.",
        rich_help_panel=TARGETS,
        show_default=False,
    ),
]
StartupTimeout = Annotated[
    float,
    typer.Option(
        metavar="SECONDS",
        help="Seconds to wait for a target to answer.",
        rich_help_panel=TARGETS,
        parser=finite_number,
    ),
]
Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        metavar="URL",
        help="Load an app you already started at this http(s) URL "
        "(loopback only) and judge the connections of the --dsn database, which is "
        "required; leakbench starts, creates and drops nothing.",
        rich_help_panel=ATTACH,
        show_default=False,
    ),
]
SetupSql = Annotated[
    Path | None,
    typer.Option(
        "--setup-sql",
        metavar="FILE",
        help="SQL file run in each fresh database before the target starts "
        "(the app's schema, when the app does not create it).",
        rich_help_panel=DATABASE,
        show_default=False,
    ),
]
SetupCmd = Annotated[
    list[str] | None,
    typer.Option(
        "--setup-cmd",
        metavar="COMMAND",
        help="The app's own set-up, e.g. 'alembic upgrade head', run in the app's folder "
        "with its fresh database's environment before it starts (no shell). Repeatable.",
        rich_help_panel=DATABASE,
        show_default=False,
    ),
]
AppEnv = Annotated[
    list[str] | None,
    typer.Option(
        "--app-env",
        metavar="NAME=TEMPLATE",
        help="Give the target its fresh database under its own variable, NAME=TEMPLATE, "
        "e.g. 'ORDERS_DB={url+psycopg}' (DATABASE_URL and PGHOST/PGPORT/PGUSER/PGPASSWORD/"
        f"PGDATABASE are always set). Repeatable. {PLACEHOLDER_HELP}",
        rich_help_panel=DATABASE,
        show_default=False,
    ),
]
Concurrency = Annotated[
    int | None,
    typer.Option(
        "--concurrency",
        "-c",
        metavar="N",
        help=f"Concurrent connections ({defaults.CONCURRENCY}; "
        f"{defaults.ALL_ROUTES_CONCURRENCY} with --all-routes).",
        rich_help_panel=LOAD,
        show_default=False,
    ),
]
Duration = Annotated[
    float | None,
    typer.Option(
        "--duration",
        "-d",
        metavar="SECONDS",
        help=f"Seconds of load per row ({defaults.DURATION:g} unless --requests is given; "
        f"with --all-routes, {defaults.ALL_ROUTES_REQUESTS} requests within "
        f"{defaults.ALL_ROUTES_DURATION:g} s).",
        rich_help_panel=LOAD,
        show_default=False,
        parser=finite_number,
    ),
]
Requests = Annotated[
    int | None,
    typer.Option(
        "--requests",
        "-n",
        metavar="N",
        help="Requests per row (instead of a duration).",
        rich_help_panel=LOAD,
        show_default=False,
    ),
]
Rate = Annotated[
    float | None,
    typer.Option(
        "--rate",
        metavar="PER_SECOND",
        help="Open loop: send this many requests per second over the --concurrency "
        "connections, latency counted from when each was due. Default: closed loop "
        "(each connection sends as soon as it is answered).",
        rich_help_panel=LOAD,
        show_default=False,
        parser=finite_number,
    ),
]
RequestTimeout = Annotated[
    float,
    typer.Option(
        metavar="SECONDS",
        help="Seconds before a request times out.",
        rich_help_panel=LOAD,
        parser=finite_number,
    ),
]
Abort = Annotated[
    str | None,
    typer.Option(
        "--abort",
        metavar="RATE[@WHEN]",
        help="Clients that leave: this share of requests is abandoned, its connection closed, "
        "before the answer (20%, 50%@30ms, 10%@0-200ms). Default WHEN: a random point within "
        "the route's observed latency. Counted apart as 'left', never as errors.",
        rich_help_panel=LOAD,
        show_default=False,
    ),
]
StreamRead = Annotated[
    str | None,
    typer.Option(
        "--stream-read",
        metavar="BYTES|SECONDS",
        help="Read a streamed answer (chunked, text/event-stream) this far and leave: "
        "4096, 64KB or 2s. Default: every stream is read to its end.",
        rich_help_panel=LOAD,
        show_default=False,
    ),
]
Hold = Annotated[
    float | None,
    typer.Option(
        "--hold",
        metavar="SECONDS",
        help="Keep each streamed answer open this long, then leave it: many concurrent SSE "
        "clients. The live view shows the streams open.",
        rich_help_panel=LOAD,
        show_default=False,
    ),
]
WsSend = Annotated[
    str,
    typer.Option(
        "--ws-send",
        metavar="MESSAGE",
        help="What each session of a WebSocket route ('WS /path') sends first.",
        rich_help_panel=LOAD,
    ),
]
WsReceive = Annotated[
    int,
    typer.Option(
        "--ws-receive",
        metavar="N",
        help="Messages each WebSocket session waits for before it ends.",
        rich_help_panel=LOAD,
    ),
]
WsDrop = Annotated[
    bool,
    typer.Option(
        "--ws-drop/--ws-close",
        metavar="",
        help="End each WebSocket session by dropping the connection, no close frame (a client "
        "gone out of range), instead of a clean close. Drops are counted as 'left'.",
        rich_help_panel=LOAD,
    ),
]
DriverProcesses = Annotated[
    int | None,
    typer.Option(
        "--driver-processes",
        metavar="N",
        help="Load driver processes sharing each row's connections, their latencies merged "
        "exactly. Default: as many as the target's --workers, within the cores left to them "
        "(1 on 2 cores); shown in the settings.",
        rich_help_panel=LOAD,
        show_default=False,
    ),
]
LoadCommand = Annotated[
    str | None,
    typer.Option(
        "--load-command",
        metavar="'COMMAND {url}'",
        help="Drive each target with this command (wrk, oha, hey, k6, locust --headless) "
        "instead of leakbench's driver; {url} becomes the target's URL. One row per target.",
        rich_help_panel=LOAD_TOOL,
        show_default=False,
    ),
]
PoolSize = Annotated[
    int,
    typer.Option(metavar="N", help="SQLAlchemy pool_size for scenarios.", rich_help_panel=POOL),
]
MaxOverflow = Annotated[
    int,
    typer.Option(metavar="N", help="SQLAlchemy max_overflow for scenarios.", rich_help_panel=POOL),
]
PoolTimeout = Annotated[
    float,
    typer.Option(
        metavar="SECONDS",
        help="SQLAlchemy pool_timeout for scenarios.",
        rich_help_panel=POOL,
        parser=finite_number,
    ),
]
MaxErrorRate = Annotated[
    str | None,
    typer.Option(
        metavar="RATE",
        help="Exit 1 when transport errors and timeouts exceed this share of "
        "requests (0.01 or 1%); 5xx responses do not count.",
        rich_help_panel=THRESHOLDS,
        show_default=False,
    ),
]
MaxP95Ms = Annotated[
    float | None,
    typer.Option(
        metavar="MS",
        help="Exit 1 when a row's p95 latency exceeds this many milliseconds.",
        rich_help_panel=THRESHOLDS,
        show_default=False,
        parser=finite_number,
    ),
]
