"""``leakbench matrix``: run's rows once per combination of versions.

matrix takes run's options, declared once on ``run_command`` and given to
``matrix_command`` by :func:`_with_options_of`, plus its own axes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Annotated, Any, ParamSpec

import typer

from leakbench._cli.base import exit_on_error
from leakbench._cli.options import VERSIONS, report_dir_option
from leakbench._cli.run import run_command
from leakbench._invoke import matrix_and_report
from leakbench._settings.options import MatrixOptions, RunOptions

# run's options that matrix does not take: attach mode loads an app the user started, on
# versions no environment of the matrix can change, and the metrics label rows without
# the combination they ran on.
# --python: the matrix runs targets on its own environments, never on the project's Python.
_NOT_MATRIX_OPTIONS = frozenset(
    {"url", "application_name", "allow_remote", "prometheus_port", "python"}
)
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
        report_dir_option(
            "Write matrix.json, matrix.md, matrix.html and one folder of reports per "
            "combination here (created if missing). Default: ./reports/<UTC timestamp>/."
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
    parsed = MatrixOptions(
        RunOptions(report_dir=report_dir, **run_options), versions, with_requirements, env_cache
    )
    exit_on_error(lambda: matrix_and_report(parsed))
