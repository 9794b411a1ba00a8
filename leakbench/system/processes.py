"""Small process helpers shared by the embedded server and the target."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Self

from leakbench.system import shutdown


class StartedInWith:
    """A server alive inside a ``with`` block: stop() runs even when start() fails half-way."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def process_alive(pid: int) -> bool:
    """True when a process with ``pid`` exists (even one we may not signal)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_process_group(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the child's whole process group, then SIGKILL what is left after ``grace``.

    ``grace`` shrinks to nothing when the user interrupted twice (see shutdown).
    """
    grace = shutdown.grace(grace)
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace)
    # Workers of a dead parent may linger in the group; make sure none survive.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)


OWNER_FILE = "leakbench-owner.pid"


def make_owned_folder(prefix: str) -> Path:
    """A new temporary folder that records which process owns it."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    (folder / OWNER_FILE).write_text(str(os.getpid()))
    return folder


def orphaned_folders(prefix: str) -> Iterator[Path]:
    """Temporary folders made by :func:`make_owned_folder` whose owner process is gone."""
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        try:
            owner_pid = int((folder / OWNER_FILE).read_text().strip())
        except (OSError, ValueError):
            continue
        if not process_alive(owner_pid):
            yield folder
