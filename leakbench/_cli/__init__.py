"""The ``leakbench`` command: each command parses options and calls one function of
:mod:`leakbench._invoke`.

Help is grouped into panels (``-h``); a usage error is one plain line on
stderr with exit code 2, whether click or leakbench found it. The options that
several commands take are declared once, in :mod:`leakbench._cli.options`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from leakbench import __version__, scenarios
from leakbench._cli.base import (
    EXIT_CODES_HELP,
    OneLineErrors,
    error_line,
    exit_on_error,
    load_project_config,
)
from leakbench._cli.init import EPILOG as INIT_EPILOG
from leakbench._cli.init import init_command
from leakbench._cli.matrix import matrix_command
from leakbench._cli.probe import EPILOG as PROBE_EPILOG
from leakbench._cli.probe import probe_command
from leakbench._cli.run import run_command
from leakbench._cli.watch import EPILOG as WATCH_EPILOG
from leakbench._cli.watch import watch_command
from leakbench._invoke import report_again
from leakbench._output.reports import ReportFormat, newest_report
from leakbench.errors import EXIT_RUN_FAILED

app = typer.Typer(
    cls=OneLineErrors,
    no_args_is_help=True,
    help="Prove whether a FastAPI + SQLAlchemy service leaks PostgreSQL connections under load.",
    epilog=EXIT_CODES_HELP,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"leakbench {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    ctx: typer.Context,
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
    load_project_config(ctx)


app.command("run", epilog=EXIT_CODES_HELP)(run_command)
app.command("matrix", epilog=EXIT_CODES_HELP)(matrix_command)
app.command("watch", epilog=WATCH_EPILOG)(watch_command)
app.command("probe", epilog=PROBE_EPILOG)(probe_command)
app.command("init", epilog=INIT_EPILOG)(init_command)


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
        Path | None,
        typer.Argument(
            metavar="[REPORT_JSON]",
            help="A report.json written by leakbench run (default: the newest under reports/).",
            show_default=False,
        ),
    ] = None,
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

    Without a path, the newest report.json under ./reports/ is shown. The exit code
    is the saved run's, judged against the thresholds it recorded.
    """

    def render() -> int:
        saved = path
        if saved is None:
            saved = newest_report()
            # On stderr: stdout may be the one format asked for.
            typer.echo(f"report: {saved} (the newest)", err=True)
        return report_again(saved, report_dir, formats or ())

    exit_on_error(render)


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
        error_line(
            f"{type(exc).__name__}: {exc} "
            "(set LEAKBENCH_DEBUG=1 for the traceback and please report it)",
            label="internal error:",
        )
        sys.exit(EXIT_RUN_FAILED)
