"""Load from another tool: run a command (wrk, oha, hey, k6, locust --headless...) to its end.

leakbench only starts the command, waits for it and stops it if it outlives
its time limit or the run is interrupted; the requests are the tool's. The
command runs in its own session, so stopping it stops every process it
started (k6 and Locust workers included), and its output goes to a file of
which the last lines are kept for the report.
"""

from __future__ import annotations

import contextlib
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from leakbench._load.driver import LoadPlan, LoadProgress
from leakbench._results import ExternalLoad
from leakbench._settings import LoadCommand
from leakbench._settings.dsn import redact
from leakbench._system import shutdown
from leakbench._system.processes import stop_process_group
from leakbench.errors import UsageError

# How often the command is checked for its end and the run for a stop request.
_POLL_SECONDS = 0.05
# A stopped command gets this long to exit after SIGTERM before SIGKILL.
_STOP_GRACE_SECONDS = 5.0
OUTPUT_TAIL_LINES = 12
URL_PLACEHOLDER = "{url}"


def resolve(command: LoadCommand, base_url: str | None) -> tuple[str, ...]:
    """The command's arguments with ``{url}`` replaced; its program found on PATH or refused."""
    if base_url is None and any(URL_PLACEHOLDER in arg for arg in command.argv):
        raise UsageError(
            f"The load command uses {URL_PLACEHOLDER}, but there is no target URL to put "
            "there: leakbench watch does not start your app, so write its URL itself."
        )
    argv = tuple(arg.replace(URL_PLACEHOLDER, base_url or "") for arg in command.argv)
    program = argv[0]
    if shutil.which(program) is None:
        raise UsageError(
            f"The load command's program {program!r} was not found; install it or give its path."
        )
    return argv


def display(argv: tuple[str, ...]) -> str:
    """The command line as a shell would show it, any password in a URL redacted."""
    return shlex.join(redact(arg) for arg in argv)


def run_command(argv: tuple[str, ...], time_limit: float, progress: LoadProgress) -> ExternalLoad:
    """Run ``argv`` until it exits, its time limit passes or the run is stopped."""
    progress.started_at = time.monotonic()
    progress.load_tool = Path(argv[0]).name
    with _output_file() as output_path:
        started = time.monotonic()
        with output_path.open("wb") as output:
            try:
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as exc:
                raise UsageError(
                    f"The load command {display(argv)!r} could not be started: {exc.strerror}."
                ) from None
        stopped = False
        try:
            stopped = _wait(process, started + time_limit)
        finally:
            # On a Ctrl-C, a time limit, or a normal end: none of its processes may stay.
            stop_process_group(process, _STOP_GRACE_SECONDS)
        return ExternalLoad(
            command=display(argv),
            elapsed_seconds=round(time.monotonic() - started, 3),
            exit_code=None if stopped else process.returncode,
            stopped=stopped,
            output_tail=tail(output_path, OUTPUT_TAIL_LINES),
        )


class CommandDriver:
    """A row's load step (:func:`leakbench._runner.row.observe_row`) that runs one command.

    The plan is not used: the command has its own routes, rate and duration.
    """

    def __init__(self, argv: tuple[str, ...], time_limit: float) -> None:
        self.argv = argv
        self.time_limit = time_limit

    def __call__(self, plan: LoadPlan, progress: LoadProgress) -> ExternalLoad:
        del plan
        return run_command(self.argv, self.time_limit, progress)


def _wait(process: subprocess.Popen[bytes], deadline: float) -> bool:
    """Wait for the command's exit; True when it had to be stopped instead."""
    while process.poll() is None:
        if shutdown.stop_requested() or time.monotonic() >= deadline:
            return True
        time.sleep(_POLL_SECONDS)
    return False


@contextlib.contextmanager
def _output_file() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="leakbench-command-") as folder:
        yield Path(folder) / "output.log"


def tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a text file, decoded leniently, passwords redacted."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line.rstrip() for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join(redact(line) for line in kept)
