"""``leakbench probe -- COMMAND``: run your server with leakbench's probe loaded."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

from leakbench._cli.base import error_line
from leakbench._targets import autoload
from leakbench.errors import EXIT_USAGE

EPILOG = (
    "Example: leakbench probe -- uvicorn app.main:app --port 8000, then, in another shell, "
    "leakbench run --url http://127.0.0.1:8000 --dsn ... -e 'POST /orders' (or leakbench "
    "watch). The probes answer in $LEAKBENCH_PROBE_DIR, by default a folder of your own "
    "under the temporary directory; give one folder per app when several run at once."
)


def probe_command(
    command: Annotated[
        list[str],
        typer.Argument(
            metavar="-- COMMAND [ARGS]...",
            help="Your server's command (uvicorn, gunicorn, fastapi run, a process manager's "
            "program line), run as is with the probe loaded in its Python processes.",
            show_default=False,
        ),
    ],
) -> None:
    """Run your server with leakbench's probe loaded, so attach mode and watch see its pools.

    The probe counts every SQLAlchemy checkout, checkin, collected checkout and
    pool, without changing your code; leakbench run --url and leakbench watch
    read it. COMMAND replaces this process (signals reach it directly).
    """
    folder = autoload.probe_dir()
    try:
        autoload.prepare(folder)
    except OSError as exc:
        error_line(f"The probe folder {folder} cannot be used ({exc}); set LEAKBENCH_PROBE_DIR.")
        raise typer.Exit(EXIT_USAGE) from None
    env = autoload.environment(os.environ, folder)
    sys.stderr.write(f"leakbench probe: the probe answers in {folder}\n")
    sys.stderr.flush()
    try:
        os.execvpe(command[0], command, env)  # noqa: S606 - the user's own command, as given
    except OSError as exc:
        error_line(
            f"leakbench probe cannot run {command[0]!r} ({exc.strerror}); check the command."
        )
        raise typer.Exit(EXIT_USAGE) from None
