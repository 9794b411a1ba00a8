"""``--setup-cmd``: the app's own set-up (migrations, a seed) run before the target starts.

Each command runs in the app's folder with the environment the target gets
(DATABASE_URL, PG*, the ``--app-env`` variables), against the fresh
database, one after the other. It is split into words like a shell would
(``shlex``) but run without a shell; write ``sh -c '...'`` for pipes or
``&&``. The folder of the app's interpreter (:mod:`leakbench._targets.interpreter`)
comes first on PATH, so tools installed next to the app (``alembic``,
``python``) are found even in a virtualenv that is not activated.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from leakbench._settings.dsn import redact
from leakbench.errors import RunError

# Migrations of a large app take a while, but a set-up step must not hang the run.
SETUP_TIMEOUT_SECONDS = 600.0
_TAIL_LINES = 6
_TAIL_CHARS = 600


class SetupCommandError(RunError):
    """A --setup-cmd could not be run or failed."""


def run_setup_commands(
    commands: tuple[str, ...],
    cwd: Path,
    env: Mapping[str, str],
    timeout: float | None = None,
    python: str | None = None,
) -> None:
    """Run each command in ``cwd``; stop at the first failure with the tail of its output.

    ``python`` is the app's interpreter (default: leakbench's own); its folder comes first on PATH.
    """
    limit = timeout or SETUP_TIMEOUT_SECONDS
    full_env = dict(env)
    python_bin = str(Path(python or sys.executable).parent)
    full_env["PATH"] = os.pathsep.join([python_bin, full_env.get("PATH", os.defpath)])
    for command in commands:
        _run_one(command, cwd, full_env, limit)


def _run_one(command: str, cwd: Path, env: dict[str, str], timeout: float) -> None:
    words = shlex.split(command)
    try:
        completed = subprocess.run(
            words,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise SetupCommandError(
            f"--setup-cmd {command!r}: {words[0]!r} was not found (in {cwd} or on PATH); "
            "install it or give its path."
        ) from None
    except subprocess.TimeoutExpired as exc:
        raise SetupCommandError(
            f"--setup-cmd {command!r} did not finish within {timeout:g} s; its output ends: "
            f"{_tail(exc.output or b'')}"
        ) from None
    if completed.returncode != 0:
        raise SetupCommandError(
            f"--setup-cmd {command!r} failed with exit code {completed.returncode} in {cwd}; "
            f"its output ends: {_tail(completed.stdout)}"
        )


def _tail(output: bytes) -> str:
    lines = [line for line in output.decode("utf-8", "replace").splitlines() if line.strip()]
    text = " | ".join(line.strip() for line in lines[-_TAIL_LINES:])
    if len(text) > _TAIL_CHARS:
        text = "…" + text[-_TAIL_CHARS:]
    # The output may print the database URL the command was given.
    return redact(text) or "(no output)"
