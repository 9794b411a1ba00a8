"""What every command of the ``leakbench`` command line shares: one-line errors and exit codes.

Click's usage errors and leakbench's own errors are one plain ``error:`` line on
stderr; ``run`` takes its defaults from the project's settings.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import typer
import typer.core

from leakbench import _redaction as redaction
from leakbench._output.style import WARNING_STYLE, error_text, make_console
from leakbench._settings import project_file as project_config
from leakbench._settings.dsn import redact
from leakbench._settings.options import RunOptions
from leakbench.errors import EXIT_RUN_FAILED, Interrupted, LeakbenchError

EXIT_CODES_HELP = """\
Exit codes:
  0    every row CLEAN
  1    a leak was found (a row is LEAKED), or a threshold failed
  2    bad usage: an invalid option or value
  3    the run could not be done (database unreachable, target or load command failed)
  4    inconclusive: no row leaked, but some could not be judged
  130  interrupted by Ctrl-C (143 for SIGTERM); finished rows are kept"""


def error_line(text: str, label: str = "error:") -> None:
    """One line on stderr, never wrapped, with any password in it redacted."""
    console = make_console(stderr=True)
    console.print(error_text(redact(text), label), soft_wrap=True, highlight=False)


class OneLineErrors(typer.core.TyperGroup):
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
        redaction.forget_all()  # an invocation's secrets are its own (tests run many)
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
                error_line(f"{message}.{hint}")
            sys.exit(exc.exit_code)
        except typer.Abort:
            if not standalone_mode:
                raise
            error_line("Aborted.")
            sys.exit(EXIT_RUN_FAILED)
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


def exit_on_error(code_of: Callable[[], int]) -> NoReturn:
    """Call ``code_of()`` and exit with its code; a leakbench error is one line."""
    try:
        code = code_of()
    except Interrupted as exc:
        make_console(stderr=True).print(str(exc), style=WARNING_STYLE, highlight=False)
        raise typer.Exit(exc.code) from None
    except LeakbenchError as exc:
        error_line(str(exc))
        raise typer.Exit(exc.exit_code) from None
    raise typer.Exit(code)


# Shared by the contexts of one invocation (click's ctx.meta).
_SETTINGS_SOURCE = "leakbench.settings_source"
_SETTINGS_ERROR = "leakbench.settings_error"


def load_project_config(ctx: typer.Context) -> None:
    """`run` takes its defaults from the project's [tool.leakbench] or leakbench.toml."""
    # Only `run` reads the project's settings: a broken file must not stop `leakbench report`.
    if ctx.invoked_subcommand != "run":
        return
    command = ctx.command.get_command(ctx, "run")  # type: ignore[attr-defined]
    try:
        found = project_config.discover(Path.cwd())
        if found is None or command is None:
            return
        source, section = found
        ctx.default_map = {"run": project_config.default_map(command, source, section)}
        ctx.meta[_SETTINGS_SOURCE] = source
    except LeakbenchError as exc:
        # Reported when `run` starts, so `leakbench run --help` still shows the help.
        ctx.meta[_SETTINGS_ERROR] = exc


def announce_project_config(ctx: typer.Context) -> Path | None:
    """Name the settings file the run's defaults come from (first line); return it."""
    error = ctx.meta.get(_SETTINGS_ERROR)
    if isinstance(error, LeakbenchError):
        error_line(str(error))
        raise typer.Exit(error.exit_code)
    source = ctx.meta.get(_SETTINGS_SOURCE)
    if not isinstance(source, Path):
        return None
    make_console(stderr=True).print(
        f"Settings from {_shown(source)}; options given here override them.",
        style="dim",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    return source


def _shown(source: Path) -> str:
    """The file as the user would write it: relative to the current folder when inside it."""
    try:
        return str(source.relative_to(Path.cwd()))
    except ValueError:
        return str(source)


def announce_interpreter(options: RunOptions) -> None:
    """Say which Python runs the app when it is not leakbench's own (a UsageError if none)."""
    choice = options.interpreter_choice()
    if choice is not None and not choice.is_own:
        make_console(stderr=True).print(
            f"The app runs on {choice.executable} ({choice.reason}).",
            style="dim",
            highlight=False,
            markup=False,
        )
