"""The ``leakbench`` command: it parses options and calls one function of :mod:`leakbench.command`.

Help is grouped into panels (``-h``); a usage error is one plain line on
stderr with exit code 2, whether click or leakbench found it.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec

import typer
import typer.core

import scenarios
from leakbench import __version__
from leakbench.command import matrix_and_report, report_again, run_and_report
from leakbench.config import PLACEHOLDER_HELP
from leakbench.errors import EXIT_RUN_FAILED, Interrupted, LeakbenchError
from leakbench.options import DEFAULT_DURATION, MatrixOptions, RunOptions, WatchOptions
from leakbench.output.reports import ReportFormat
from leakbench.output.style import WARNING_STYLE, error_text, make_console
from leakbench.postgres.dsn import redact

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

EXIT_CODES_HELP = """\
Exit codes:
  0    every row CLEAN
  1    a leak was found (a row is LEAKED), or a threshold failed
  2    bad usage: an invalid option or value
  3    the run could not be done (database unreachable, target or load command failed)
  4    inconclusive: no row leaked, but some could not be judged
  130  interrupted by Ctrl-C (143 for SIGTERM); finished rows are kept"""
DSN_ENV = "LEAKBENCH_DSN"
_DEFAULTS = RunOptions()


def _error_line(text: str, label: str = "error:") -> None:
    """One line on stderr, never wrapped, with any password in it redacted."""
    console = make_console(stderr=True)
    console.print(error_text(redact(text), label), soft_wrap=True, highlight=False)


class _OneLineErrors(typer.core.TyperGroup):
    """Click's usage errors as one ``error:`` line, like leakbench's own (not a box or usage)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        try:
            code = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.TyperException as exc:
            if not standalone_mode:
                raise
            if type(exc).__name__ == "NoArgsIsHelpError":  # nothing given: the help, as asked
                typer.echo(exc.format_message(), err=True)
            else:
                ctx = getattr(exc, "ctx", None)
                hint = f" See '{ctx.command_path} -h'." if ctx is not None else ""
                message = exc.format_message().rstrip(".")
                _error_line(f"{message}.{hint}")
            sys.exit(exc.exit_code)
        except typer.Abort:
            if not standalone_mode:
                raise
            _error_line("Aborted.")
            sys.exit(EXIT_RUN_FAILED)
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_OneLineErrors,
    no_args_is_help=True,
    help="Prove whether a FastAPI + SQLAlchemy service leaks PostgreSQL connections under load.",
    epilog=EXIT_CODES_HELP,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _complete_pattern(incomplete: str) -> list[tuple[str, str]]:
    """Scenario names (and both, all) for shell completion of --pattern."""
    choices = [
        ("both", "the pull request's two scenarios"),
        ("all", "every shipped scenario"),
        *((s.name, f"{s.expected}: {s.summary}") for s in scenarios.SCENARIOS),
    ]
    return [(name, help_text) for name, help_text in choices if name.startswith(incomplete)]


def _exit_on_error(code_of: Callable[[], int]) -> NoReturn:
    """Call ``code_of()`` and exit with its code; a leakbench error is one line."""
    try:
        code = code_of()
    except Interrupted as exc:
        make_console(stderr=True).print(str(exc), style=WARNING_STYLE, highlight=False)
        raise typer.Exit(exc.code) from None
    except LeakbenchError as exc:
        _error_line(str(exc))
        raise typer.Exit(exc.exit_code) from None
    raise typer.Exit(code)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"leakbench {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            metavar="",
            help="Print leakbench's version and exit.",
            callback=_show_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    # The options every command shares; the help comes from the Typer app.
    pass


@app.command("run", epilog=EXIT_CODES_HELP)
def run_command(  # noqa: PLR0917 - typer maps each parameter to an option
    ctx: typer.Context,
    pattern: Annotated[
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
    ] = None,
    app_spec: Annotated[
        list[str] | None,
        typer.Option(
            "--app",
            metavar="APP",
            help="Your app: 'path/to/main.py:app' or 'pkg.module:app'. Repeatable.",
            rich_help_panel=TARGETS,
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(metavar="N", help="uvicorn workers per target.", rich_help_panel=TARGETS),
    ] = _DEFAULTS.workers,
    startup_timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="Seconds to wait for a target to answer.",
            rich_help_panel=TARGETS,
        ),
    ] = _DEFAULTS.startup_timeout,
    url: Annotated[
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
    ] = None,
    application_name: Annotated[
        str | None,
        typer.Option(
            "--application-name",
            metavar="NAME",
            help="Judge only connections with this application_name.",
            rich_help_panel=ATTACH,
            show_default=False,
        ),
    ] = None,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            metavar="",
            help="Allow a --url that is not on this machine.",
            rich_help_panel=ATTACH,
        ),
    ] = False,
    dsn: Annotated[
        str | None,
        typer.Option(
            "--dsn",
            metavar="DSN",
            envvar=DSN_ENV,
            help="PostgreSQL server to use (postgresql://user:pass@host:port/db)."
            " Default: an embedded server started and removed by leakbench.",
            rich_help_panel=DATABASE,
            show_default=False,
        ),
    ] = None,
    setup_sql: Annotated[
        Path | None,
        typer.Option(
            "--setup-sql",
            metavar="FILE",
            help="SQL file run in each fresh database before the target starts "
            "(the app's schema, when the app does not create it).",
            rich_help_panel=DATABASE,
            show_default=False,
        ),
    ] = None,
    app_env: Annotated[
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
    ] = None,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency", "-c", metavar="N", help="Concurrent connections.", rich_help_panel=LOAD
        ),
    ] = _DEFAULTS.concurrency,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration",
            "-d",
            metavar="SECONDS",
            help=f"Seconds of load per row ({DEFAULT_DURATION:g} unless --requests is given).",
            rich_help_panel=LOAD,
            show_default=False,
        ),
    ] = None,
    requests: Annotated[
        int | None,
        typer.Option(
            "--requests",
            "-n",
            metavar="N",
            help="Requests per row (instead of a duration).",
            rich_help_panel=LOAD,
            show_default=False,
        ),
    ] = None,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate",
            metavar="PER_SECOND",
            help="Open loop: send this many requests per second over the --concurrency "
            "connections, latency counted from when each was due. Default: closed loop "
            "(each connection sends as soon as it is answered).",
            rich_help_panel=LOAD,
            show_default=False,
        ),
    ] = None,
    request_timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", help="Seconds before a request times out.", rich_help_panel=LOAD
        ),
    ] = _DEFAULTS.request_timeout,
    driver_processes: Annotated[
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
    ] = None,
    load_command: Annotated[
        str | None,
        typer.Option(
            "--load-command",
            metavar="'COMMAND {url}'",
            help="Drive each target with this command (wrk, oha, hey, k6, locust --headless) "
            "instead of leakbench's driver; {url} becomes the target's URL. One row per target.",
            rich_help_panel=LOAD_TOOL,
            show_default=False,
        ),
    ] = None,
    judge_failed_load: Annotated[
        bool,
        typer.Option(
            "--judge-failed-load",
            metavar="",
            help="Judge the row even when the load command fails "
            "(by default a failed command fails the row, exit 3).",
            rich_help_panel=LOAD_TOOL,
        ),
    ] = _DEFAULTS.judge_failed_load,
    load_timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="Stop the load command after this many seconds (the row fails).",
            rich_help_panel=LOAD_TOOL,
        ),
    ] = _DEFAULTS.load_timeout,
    timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="Stop the whole command after this many seconds (rows kept).",
            rich_help_panel=LOAD,
        ),
    ] = _DEFAULTS.timeout,
    endpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--endpoint",
            "-e",
            metavar="'METHOD /PATH'",
            help="Route to load, 'METHOD /path' (a bare path means "
            "POST). Repeatable. Default: the scenario's /ok and /error.",
            rich_help_panel=REQUESTS,
            show_default=False,
        ),
    ] = None,
    body: Annotated[
        str,
        typer.Option(
            metavar="JSON", help="JSON body sent with each request.", rich_help_panel=REQUESTS
        ),
    ] = _DEFAULTS.body,
    pool_size: Annotated[
        int,
        typer.Option(metavar="N", help="SQLAlchemy pool_size for scenarios.", rich_help_panel=POOL),
    ] = _DEFAULTS.pool_size,
    max_overflow: Annotated[
        int,
        typer.Option(
            metavar="N", help="SQLAlchemy max_overflow for scenarios.", rich_help_panel=POOL
        ),
    ] = _DEFAULTS.max_overflow,
    pool_timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", help="SQLAlchemy pool_timeout for scenarios.", rich_help_panel=POOL
        ),
    ] = _DEFAULTS.pool_timeout,
    settle: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="Most seconds to wait for the app to settle.",
            rich_help_panel=VERDICT,
        ),
    ] = _DEFAULTS.settle,
    max_idle_in_transaction: Annotated[
        int,
        typer.Option(
            metavar="N",
            help="Idle-in-transaction connections tolerated after the settle.",
            rich_help_panel=VERDICT,
        ),
    ] = _DEFAULTS.max_idle_in_transaction,
    poll_interval: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="Seconds between pg_stat_activity samples.",
            rich_help_panel=VERDICT,
        ),
    ] = _DEFAULTS.poll_interval,
    fail_on_leak: Annotated[
        bool,
        typer.Option(
            "--fail-on-leak/--no-fail-on-leak",
            metavar="",
            help="Exit 1 when a row is LEAKED. --no-fail-on-leak reports leaks but exits 0.",
            rich_help_panel=THRESHOLDS,
        ),
    ] = _DEFAULTS.fail_on_leak,
    max_total_connections: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Exit 1 when a row's database ever holds more connections.",
            rich_help_panel=THRESHOLDS,
            show_default=False,
        ),
    ] = None,
    max_error_rate: Annotated[
        str | None,
        typer.Option(
            metavar="RATE",
            help="Exit 1 when transport errors and timeouts exceed this share of "
            "requests (0.01 or 1%); 5xx responses do not count.",
            rich_help_panel=THRESHOLDS,
            show_default=False,
        ),
    ] = None,
    max_p95_ms: Annotated[
        float | None,
        typer.Option(
            metavar="MS",
            help="Exit 1 when a row's p95 latency exceeds this many milliseconds.",
            rich_help_panel=THRESHOLDS,
            show_default=False,
        ),
    ] = None,
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report-dir",
            metavar="DIR",
            help="Write report.json, report.md, report.html and junit.xml here (created if "
            "missing). Default: ./reports/<UTC timestamp>/.",
            rich_help_panel=OUTPUT,
            show_default=False,
        ),
    ] = None,
    json_path: Annotated[
        Path | None,
        typer.Option(
            "--json",
            metavar="FILE",
            help="Also write the JSON report here.",
            rich_help_panel=OUTPUT,
            show_default=False,
        ),
    ] = None,
    live: Annotated[
        bool,
        typer.Option(
            "--live/--no-live",
            metavar="",
            help="Show each row live at a terminal. Plain lines when piped or with --no-live.",
            rich_help_panel=OUTPUT,
        ),
    ] = _DEFAULTS.live,
    prometheus_port: Annotated[
        int | None,
        typer.Option(
            metavar="PORT",
            help="Serve the live counts in Prometheus format on 127.0.0.1:PORT/metrics "
            "during the run (0: any free port).",
            rich_help_panel=OUTPUT,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start each target, load it, watch its connections, and judge whether it leaks."""
    options = RunOptions(**ctx.params)
    _exit_on_error(lambda: run_and_report(options))


# run's options that matrix does not take: attach mode loads an app the user started, on
# versions no environment of the matrix can change, and the metrics label rows without
# the combination they ran on.
_NOT_MATRIX_OPTIONS = frozenset({"url", "application_name", "allow_remote", "prometheus_port"})
_P = ParamSpec("_P")


def _with_options_of(
    source: Callable[..., None], *, without: Collection[str] = ()
) -> Callable[[Callable[_P, None]], Callable[_P, None]]:
    """Give a command every option of ``source`` (but ``without``), declared and parsed once.

    Typer reads a command's options from its signature, so the decorated
    command's signature becomes its own parameters followed by ``source``'s; the
    command takes the shared ones as ``**kwargs``. An own parameter named as one
    of ``source``'s replaces it (another help text for the same option).
    """
    shared = inspect.signature(source, eval_str=True).parameters

    def decorate(command: Callable[_P, None]) -> Callable[_P, None]:
        own = {
            name: parameter
            for name, parameter in inspect.signature(command, eval_str=True).parameters.items()
            if parameter.kind is not inspect.Parameter.VAR_KEYWORD
        }
        parameters = [p for name, p in own.items() if name not in shared] + [
            own.get(name, parameter).replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for name, parameter in shared.items()
            if name not in without and parameter.annotation is not typer.Context
        ]
        # A callable's type does not declare __signature__; inspect (and so typer) reads it.
        command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        return command

    return decorate


@app.command("matrix", epilog=EXIT_CODES_HELP)
@_with_options_of(run_command, without=_NOT_MATRIX_OPTIONS)
def matrix_command(
    versions: Annotated[
        list[str],
        typer.Option(
            "--versions",
            metavar="PACKAGE=V1,V2",
            help="An axis: a package (or 'driver') and the versions to run on: exact, "
            "'latest', or one specifier such as '<0.106'. Repeatable; every combination of "
            "the axes is one column.",
            rich_help_panel=VERSIONS,
        ),
    ],
    with_requirements: Annotated[
        list[str] | None,
        typer.Option(
            "--with",
            metavar="REQUIREMENT",
            help="Also install this in every environment (e.g. 'httpx>=0.27'; what your "
            "--app imports). Repeatable.",
            rich_help_panel=VERSIONS,
            show_default=False,
        ),
    ] = None,
    env_cache: Annotated[
        Path | None,
        typer.Option(
            "--env-cache",
            metavar="DIR",
            help="Folder of the cached environments. Default: ~/.cache/leakbench/envs.",
            rich_help_panel=VERSIONS,
            show_default=False,
        ),
    ] = None,
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report-dir",
            metavar="DIR",
            help="Write matrix.json, matrix.md, matrix.html and one folder of reports per "
            "combination here (created if missing). Default: ./reports/<UTC timestamp>/.",
            rich_help_panel=OUTPUT,
            show_default=False,
        ),
    ] = None,
    **run_options: Any,
) -> None:
    """Run the same rows once per combination of versions, each in its own cached environment.

    Takes every option of run except attach mode and --prometheus-port. Each combination
    gets a virtual environment built with uv and reused by later runs; only the
    targets run in it. Prints one table: rows are scenario x endpoint, columns are
    the combinations; --json writes matrix.json.
    """
    options = MatrixOptions(
        RunOptions(report_dir=report_dir, **run_options), versions, with_requirements, env_cache
    )
    _exit_on_error(lambda: matrix_and_report(options))


_WATCH_DEFAULTS = WatchOptions()


@app.command(
    "watch",
    epilog="Example: leakbench watch --dsn postgresql://monitor@127.0.0.1/shop "
    "--application-name shop -- wrk -t2 -c50 -d10s http://127.0.0.1:8000/orders\n\n"
    + EXIT_CODES_HELP,
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
    dsn: Annotated[
        str | None,
        typer.Option(
            "--dsn",
            metavar="DSN",
            envvar=DSN_ENV,
            help="The database your app uses, whose connections are judged "
            "(a role with pg_monitor is enough). Required.",
            rich_help_panel=DATABASE,
            show_default=False,
        ),
    ] = None,
    application_name: Annotated[
        str | None,
        typer.Option(
            "--application-name",
            metavar="NAME",
            help="Judge only connections with this application_name.",
            rich_help_panel=DATABASE,
            show_default=False,
        ),
    ] = None,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            metavar="",
            help="Allow URLs on the command line that are not on this machine.",
            rich_help_panel=LOAD,
        ),
    ] = _WATCH_DEFAULTS.allow_remote,
    judge_failed_load: Annotated[
        bool,
        typer.Option(
            "--judge-failed-load",
            metavar="",
            help="Judge the connections even when the command fails "
            "(by default a failed command fails the run, exit 3).",
            rich_help_panel=LOAD,
        ),
    ] = _WATCH_DEFAULTS.judge_failed_load,
    load_timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="Stop the command after this many seconds (the run fails).",
            rich_help_panel=LOAD,
        ),
    ] = _WATCH_DEFAULTS.load_timeout,
    timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="Stop the whole command after this many seconds.",
            rich_help_panel=LOAD,
        ),
    ] = _WATCH_DEFAULTS.timeout,
    settle: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="Most seconds to wait for the app to settle.",
            rich_help_panel=VERDICT,
        ),
    ] = _WATCH_DEFAULTS.settle,
    max_idle_in_transaction: Annotated[
        int,
        typer.Option(
            metavar="N",
            help="Idle-in-transaction connections tolerated after the settle.",
            rich_help_panel=VERDICT,
        ),
    ] = _WATCH_DEFAULTS.max_idle_in_transaction,
    poll_interval: Annotated[
        float,
        typer.Option(
            metavar="SECONDS",
            help="Seconds between pg_stat_activity samples.",
            rich_help_panel=VERDICT,
        ),
    ] = _WATCH_DEFAULTS.poll_interval,
    fail_on_leak: Annotated[
        bool,
        typer.Option(
            "--fail-on-leak/--no-fail-on-leak",
            metavar="",
            help="Exit 1 when the row is LEAKED. --no-fail-on-leak reports leaks but exits 0.",
            rich_help_panel=THRESHOLDS,
        ),
    ] = _WATCH_DEFAULTS.fail_on_leak,
    max_total_connections: Annotated[
        int | None,
        typer.Option(
            metavar="N",
            help="Exit 1 when the database ever holds more connections.",
            rich_help_panel=THRESHOLDS,
            show_default=False,
        ),
    ] = None,
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report-dir",
            metavar="DIR",
            help="Write report.json, report.md, report.html and junit.xml here (created if "
            "missing). Default: ./reports/<UTC timestamp>/.",
            rich_help_panel=OUTPUT,
            show_default=False,
        ),
    ] = None,
    json_path: Annotated[
        Path | None,
        typer.Option(
            "--json",
            metavar="FILE",
            help="Also write the JSON report here.",
            rich_help_panel=OUTPUT,
            show_default=False,
        ),
    ] = None,
    live: Annotated[
        bool,
        typer.Option(
            "--live/--no-live",
            metavar="",
            help="Show the row live at a terminal. Plain lines when piped or with --no-live.",
            rich_help_panel=OUTPUT,
        ),
    ] = _WATCH_DEFAULTS.live,
    prometheus_port: Annotated[
        int | None,
        typer.Option(
            metavar="PORT",
            help="Serve the live counts in Prometheus format on 127.0.0.1:PORT/metrics "
            "during the run (0: any free port).",
            rich_help_panel=OUTPUT,
            show_default=False,
        ),
    ] = None,
) -> None:
    """Judge your app's connections while another tool drives the load.

    Takes the baseline, starts COMMAND, samples pg_stat_activity while it runs,
    lets the app settle after it exits, and judges, with the same reports and
    exit codes as run. leakbench starts no app and sends no request itself.
    """
    options = WatchOptions(**ctx.params)
    _exit_on_error(lambda: run_and_report(options))


@app.command("scenarios")
def scenarios_command() -> None:
    """List the shipped scenarios and the verdict each is known to deserve."""
    # Plain echo, never wrapped: one line per scenario, easy to grep.
    width = max(len(scenario.name) for scenario in scenarios.SCENARIOS)
    for scenario in scenarios.SCENARIOS:
        typer.echo(f"{scenario.name:<{width}}  {scenario.expected:<7} {scenario.summary}")


@app.command("report")
def report_command(
    path: Annotated[
        Path, typer.Argument(metavar="REPORT_JSON", help="A report.json written by leakbench run.")
    ],
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report-dir",
            metavar="DIR",
            help="Write the report files here (all four, or those given with --format).",
            show_default=False,
        ),
    ] = None,
    formats: Annotated[
        list[ReportFormat] | None,
        typer.Option(
            "--format",
            "-f",
            help="A format to write: into --report-dir, or without it to stdout (one only). "
            "Repeatable.",
            metavar="json|md|html|junit",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Re-render a saved JSON report: the table, or the Markdown, HTML and JUnit files.

    The exit code is the saved run's, judged against the thresholds it recorded.
    """
    _exit_on_error(lambda: report_again(path, report_dir, formats or ()))


@app.command("version")
def version_command() -> None:
    """Print leakbench's version."""
    typer.echo(__version__)


def main() -> None:
    """Console-script entry point."""
    if os.environ.get("LEAKBENCH_DEBUG"):
        app()
        return
    try:
        app()
    except SystemExit:
        raise
    except Exception as exc:  # an unexpected bug: one line, not a traceback
        _error_line(
            f"{type(exc).__name__}: {exc} "
            "(set LEAKBENCH_DEBUG=1 for the traceback and please report it)",
            label="internal error:",
        )
        sys.exit(EXIT_RUN_FAILED)
