"""The ``leakbench`` command: a thin layer over :func:`leakbench.runner.run.run`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

import scenarios
from leakbench import __version__
from leakbench.config import (
    PLACEHOLDER_HELP,
    AttachTarget,
    Endpoint,
    EnvTemplate,
    LoadSettings,
    PoolSettings,
    RunConfig,
    VerdictSettings,
)
from leakbench.errors import (
    EXIT_RUN_FAILED,
    Interrupted,
    LeakbenchError,
    UsageError,
)
from leakbench.output import reports
from leakbench.output.reports import ReportFormat
from leakbench.output.reports import json as report_json
from leakbench.output.terminal import (
    make_console,
    render_report_paths,
    render_run,
    render_thresholds,
)
from leakbench.postgres.dsn import redact
from leakbench.progress.group import open_observer
from leakbench.runner.run import run as run_pipeline
from leakbench.system.signals import StopSignals
from leakbench.target.specs import parse_app, resolve_patterns
from leakbench.verdict.thresholds import Thresholds, evaluate, exit_code, parse_rate

EXIT_CODES_HELP = """\b
Exit codes:
  0    every row CLEAN
  1    a leak was found (a row is LEAKED), or a threshold failed
  2    bad usage: an invalid option or value
  3    the run could not be done (database unreachable, target failed)
  4    inconclusive: no row leaked, but some could not be judged
  130  interrupted by Ctrl-C (143 for SIGTERM); finished rows are kept
"""

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Prove whether a FastAPI + SQLAlchemy service leaks PostgreSQL connections under load.",
    epilog=EXIT_CODES_HELP,
    pretty_exceptions_enable=False,
    # Plain click errors: one "Error: ..." line a CI log keeps intact, not a box.
    rich_markup_mode=None,
)


def _fail(exc: LeakbenchError) -> NoReturn:
    err = Console(stderr=True, highlight=False)
    err.print(f"[bold red]error:[/] {redact(str(exc))}", soft_wrap=True)
    raise typer.Exit(exc.exit_code)


def _check_output_path(path: Path | None, option: str) -> None:
    if path is not None and not path.resolve().parent.is_dir():
        raise UsageError(
            f"{option} {path}: the folder {path.resolve().parent} does not exist; create it first."
        )


@app.command("run")
def run_command(  # noqa: PLR0917 - typer maps each parameter to an option
    pattern: Annotated[
        list[str] | None,
        typer.Option(
            "--pattern",
            "-p",
            metavar="NAME",
            help="Scenario to test: a name, 'both' (the PR's two) or 'all'. Repeatable.",
        ),
    ] = None,
    app_spec: Annotated[
        list[str] | None,
        typer.Option(
            "--app",
            metavar="APP",
            help="Your app: 'path/to/main.py:app' or 'pkg.module:app'. Repeatable.",
        ),
    ] = None,
    endpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--endpoint",
            "-e",
            metavar="'METHOD /PATH'",
            help="Route to load, 'METHOD /path' (a bare path means "
            "POST). Repeatable. Default: the scenario's /ok and /error.",
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
            show_default=False,
        ),
    ] = None,
    setup_sql: Annotated[
        Path | None,
        typer.Option(
            "--setup-sql",
            help="SQL file run in each fresh database before the target starts "
            "(the app's schema, when the app does not create it).",
            show_default=False,
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Attach mode: load an app you already started at this http(s) URL "
            "(loopback only) and judge the connections of the --dsn database, which is "
            "required; leakbench starts, creates and drops nothing.",
            show_default=False,
        ),
    ] = None,
    application_name: Annotated[
        str | None,
        typer.Option(
            "--application-name",
            help="Attach mode: judge only connections with this application_name.",
            show_default=False,
        ),
    ] = None,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote", help="Attach mode: allow a --url that is not on this machine."
        ),
    ] = False,
    dsn: Annotated[
        str | None,
        typer.Option(
            "--dsn",
            help="PostgreSQL server to use (postgresql://user:pass@host:port/db)."
            " Default: an embedded server started and removed by leakbench.",
            show_default=False,
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", help="Concurrent connections.")
    ] = 300,
    duration: Annotated[
        float | None,
        typer.Option(
            "--duration", "-d", help="Seconds of load per row. [default: 8 unless --requests]"
        ),
    ] = None,
    requests: Annotated[
        int | None,
        typer.Option("--requests", "-n", help="Requests per row (instead of a duration)."),
    ] = None,
    request_timeout: Annotated[
        float, typer.Option(help="Seconds before a request times out.")
    ] = 10.0,
    rate: Annotated[
        float | None,
        typer.Option(
            "--rate",
            help="Open loop: send this many requests per second over the --concurrency "
            "connections, latency counted from when each was due. Default: closed loop "
            "(each connection sends as soon as it is answered).",
            show_default=False,
        ),
    ] = None,
    body: Annotated[
        str, typer.Option(help="JSON body sent with each request.")
    ] = '{"name": "test"}',
    pool_size: Annotated[int, typer.Option(help="SQLAlchemy pool_size for scenarios.")] = 2,
    max_overflow: Annotated[int, typer.Option(help="SQLAlchemy max_overflow for scenarios.")] = 10,
    pool_timeout: Annotated[float, typer.Option(help="SQLAlchemy pool_timeout (s).")] = 30.0,
    workers: Annotated[int, typer.Option(help="uvicorn workers per target.")] = 1,
    settle: Annotated[
        float, typer.Option(help="Most seconds to wait for the app to settle.")
    ] = 5.0,
    max_idle_in_transaction: Annotated[
        int, typer.Option(help="Idle-in-transaction connections tolerated after the settle.")
    ] = 0,
    poll_interval: Annotated[
        float, typer.Option(help="Seconds between pg_stat_activity samples.")
    ] = 0.1,
    startup_timeout: Annotated[
        float, typer.Option(help="Seconds to wait for a target to answer.")
    ] = 30.0,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON report here.")
    ] = None,
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report-dir",
            help="Write report.json, report.md, report.html and junit.xml here (created if "
            "missing). Default: ./reports/<UTC timestamp>/.",
            show_default=False,
        ),
    ] = None,
    fail_on_leak: Annotated[
        bool,
        typer.Option(
            "--fail-on-leak/--no-fail-on-leak",
            help="Exit 1 when a row is LEAKED. --no-fail-on-leak reports leaks but exits 0.",
        ),
    ] = True,
    max_total_connections: Annotated[
        int | None,
        typer.Option(
            help="Threshold: exit 1 when a row's database ever holds more connections.",
            show_default=False,
        ),
    ] = None,
    max_error_rate: Annotated[
        str | None,
        typer.Option(
            help="Threshold: exit 1 when transport errors and timeouts exceed this share of "
            "requests (0.01 or 1%); 5xx responses do not count.",
            metavar="RATE",
            show_default=False,
        ),
    ] = None,
    max_p95_ms: Annotated[
        float | None,
        typer.Option(
            help="Threshold: exit 1 when a row's p95 latency exceeds this many milliseconds.",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Stop the whole command after this many seconds (rows kept).")
    ] = 3600.0,
    live: Annotated[
        bool,
        typer.Option(
            "--live/--no-live",
            help="Show each row live at a terminal. Plain lines when piped or with --no-live.",
        ),
    ] = True,
    prometheus_port: Annotated[
        int | None,
        typer.Option(
            help="Serve the live counts in Prometheus format on 127.0.0.1:PORT/metrics "
            "during the run (0: any free port).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Start each target, load it, watch its connections, and judge whether it leaks."""
    directory: Path | None = None
    try:
        _check_output_path(json_path, "--json")
        if timeout <= 0:
            raise UsageError(f"--timeout {timeout:g} is invalid; give a positive number.")
        attach = None
        if url is not None:
            attach = AttachTarget(url, application_name, allow_remote)
        elif application_name is not None or allow_remote:
            raise UsageError(
                "--application-name and --allow-remote belong to attach mode; give --url too."
            )
        targets = resolve_patterns(pattern or []) + [parse_app(spec) for spec in app_spec or []]
        if not targets and attach is None:
            targets = resolve_patterns(["both"])
        config = RunConfig(
            targets=tuple(targets),
            endpoints=tuple(Endpoint.parse(e) for e in endpoint or []),
            load=LoadSettings(
                concurrency=concurrency,
                duration=duration if duration is not None or requests is not None else 8.0,
                requests=requests,
                request_timeout=request_timeout,
                body=body.encode(),
                rate=rate,
            ),
            pool=PoolSettings(pool_size, max_overflow, pool_timeout),
            verdict=VerdictSettings(settle=settle, max_idle_in_transaction=max_idle_in_transaction),
            dsn=dsn,
            workers=workers,
            poll_interval=poll_interval,
            startup_timeout=startup_timeout,
            app_env=tuple(EnvTemplate.parse(text) for text in app_env or []),
            setup_sql=setup_sql,
            attach=attach,
            thresholds=Thresholds(
                fail_on_leak=fail_on_leak,
                max_total_connections=max_total_connections,
                max_error_rate=parse_rate(max_error_rate) if max_error_rate is not None else None,
                max_p95_ms=max_p95_ms,
            ),
        )
        # Checked before the run, so a bad folder costs no load.
        directory = reports.prepare_dir(report_dir or reports.default_dir())
        console = make_console()
        with (
            StopSignals(timeout) as signals,
            open_observer(console, live=live, prometheus_port=prometheus_port) as observer,
        ):
            try:
                result = run_pipeline(config, observer)
            except KeyboardInterrupt:
                raise Interrupted(signals.reason or "SIGINT", timeout) from None
        reports.write_all(result, directory)
        if json_path is not None:
            report_json.write_json(result, json_path)
        render_run(console, result)
        failures = evaluate(result, config.thresholds)
        render_thresholds(console, failures)
        render_report_paths(console, directory)
        if result.interrupted:
            raise Interrupted(signals.reason or "SIGINT", timeout)
    except Interrupted as exc:
        reports.discard_unused_default(directory, report_dir)
        Console(stderr=True).print(f"[yellow]{exc}[/]")
        raise typer.Exit(exc.code) from None
    except LeakbenchError as exc:
        reports.discard_unused_default(directory, report_dir)
        _fail(exc)
    raise typer.Exit(exit_code(result, failures))


@app.command("scenarios")
def scenarios_command() -> None:
    """List the shipped scenarios and the verdict each is known to deserve."""
    # Plain echo, never wrapped: one line per scenario, easy to grep.
    width = max(len(scenario.name) for scenario in scenarios.SCENARIOS)
    for scenario in scenarios.SCENARIOS:
        typer.echo(f"{scenario.name:<{width}}  {scenario.expected:<7} {scenario.summary}")


@app.command("report")
def report_command(
    path: Annotated[Path, typer.Argument(help="A report.json written by leakbench run.")],
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report-dir",
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
    try:
        result = report_json.read_json(path)
        if report_dir is None and formats:
            if len(formats) > 1:
                raise UsageError(
                    f"--format was given {len(formats)} times without --report-dir; "
                    "give one format for stdout, or --report-dir DIR to write several."
                )
            typer.echo(reports.render(result, formats[0]), nl=False)
        else:
            console = make_console()
            render_run(console, result)
            render_thresholds(console, evaluate(result, Thresholds.from_settings(result.settings)))
            if report_dir is not None:
                reports.write_all(result, reports.prepare_dir(report_dir), formats or ReportFormat)
                render_report_paths(console, report_dir)
    except LeakbenchError as exc:
        _fail(exc)
    failures = evaluate(result, Thresholds.from_settings(result.settings))
    raise typer.Exit(exit_code(result, failures))


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
        Console(stderr=True, highlight=False).print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {redact(str(exc))} "
            "(set LEAKBENCH_DEBUG=1 for the traceback and please report it)"
        )
        sys.exit(EXIT_RUN_FAILED)
