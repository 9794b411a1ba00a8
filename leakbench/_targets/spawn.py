"""Starting target interpreters, on demand or ahead of time (a spare).

A target process (``python -m leakbench._targets.boot``) is started with the
listening socket leakbench bound for it and then waits for its launch order
on stdin. Starting it and launching it are two steps so that the first
target of a run can be started *before* its database exists: a spare
imports FastAPI, SQLAlchemy and psycopg (over a second of CPU) while
PostgreSQL starts on the other core, and the first row claims it.

Only the first row gets a spare: a spare for a later row would import while
the row before it is under load and take CPU from the app being measured.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from leakbench._settings import TargetInterpreter
from leakbench._system.processes import stop_process_group
from leakbench._targets.boot import PARENT_PID_ENV
from leakbench._targets.output import TargetOutput

_LISTEN_BACKLOG = 4096


@dataclass
class BootedProcess:
    """A target interpreter that is running and waits for its launch order."""

    process: subprocess.Popen[bytes]
    port: int
    output: TargetOutput

    def launch(self, env: Mapping[str, str], cwd: Path, workers: int) -> None:
        """Send the order; the process then imports the app and serves it."""
        # Unbuffered in uvicorn's workers too, so a crash's last lines reach the log.
        order = {"env": {**env, "PYTHONUNBUFFERED": "1"}, "cwd": str(cwd), "workers": workers}
        assert self.process.stdin is not None
        # A process that already died answers with a broken pipe; the caller sees it exit.
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.write(json.dumps(order).encode() + b"\n")
            self.process.stdin.flush()
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.close()

    def stop(self, grace: float = 5.0) -> None:
        stop_process_group(self.process, grace=grace)
        self.output.wait()


def boot(
    log_path: Path,
    cwd: Path,
    *,
    preload: bool = False,
    interpreter: TargetInterpreter | None = None,
    echo: Callable[[str], None] | None = None,
) -> BootedProcess:
    """Bind a free loopback port and start a target interpreter that owns it.

    Its output goes to ``log_path`` (capped, rotated) and, with ``echo``, line by line to it.
    """
    interpreter = interpreter or TargetInterpreter.current()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(_LISTEN_BACKLOG)
        args = [
            interpreter.executable,
            *("-m", "leakbench._targets.boot", "--fd", str(listener.fileno())),
        ]
        if preload:
            args.append("--preload")
        env = interpreter.environment(
            {**os.environ, "PYTHONUNBUFFERED": "1", PARENT_PID_ENV: str(os.getpid())}
        )
        process = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.PIPE,
            env=env,
            pass_fds=(listener.fileno(),),
            start_new_session=True,  # its own process group: stopping it stops its workers
            cwd=str(cwd),
        )
        output = TargetOutput(log_path, echo=echo)
        assert process.stdout is not None
        output.follow(process.stdout)
        return BootedProcess(process, int(listener.getsockname()[1]), output)
    finally:
        listener.close()


class Spare:
    """At most one interpreter started ahead of time, for the first target to claim."""

    def __init__(self, booted: BootedProcess | None) -> None:
        self._booted = booted

    def claim(self) -> BootedProcess | None:
        """The spare if it is still waiting, once; None to start a target the usual way."""
        booted, self._booted = self._booted, None
        if booted is not None and booted.process.poll() is not None:
            return None
        return booted

    def discard(self) -> None:
        booted, self._booted = self._booted, None
        if booted is not None:
            booted.stop()


@contextlib.contextmanager
def spare_for_first_target(
    work: Path,
    *,
    enabled: bool,
    interpreter: TargetInterpreter | None = None,
    echo: Callable[[str], None] | None = None,
) -> Iterator[Spare]:
    """A spare, started now and stopped at the end unless a target claimed it."""
    spare = Spare(
        boot(work / "spare.log", Path.cwd(), preload=True, interpreter=interpreter, echo=echo)
        if enabled
        else None
    )
    try:
        yield spare
    finally:
        spare.discard()
