"""Small process helpers shared by the embedded server and the target."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Self

from leakbench._system import shutdown


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
# The owner files this process holds locked, for as long as it lives (never inherited:
# Python opens files close-on-exec, so a server or target left behind does not hold them).
_held_locks: dict[Path, int] = {}


def make_owned_folder(prefix: str) -> Path:
    """A new temporary folder owned by this process while it lives.

    Its owner file holds the pid (for people) and an exclusive ``flock`` held
    by this process, which the kernel releases when the process dies, however
    it dies. A pid alone is no proof: a run in another PID namespace (a
    container, a CI runner on the same host) sees other pids, and pids are reused.
    """
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    owner = folder / OWNER_FILE
    owner.write_text(str(os.getpid()))
    descriptor = os.open(owner, os.O_RDONLY)
    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    _held_locks[folder] = descriptor
    return folder


def release_owned_folder(folder: Path) -> None:
    """Let go of a folder's lock (before removing it)."""
    descriptor = _held_locks.pop(folder, None)
    if descriptor is not None:
        with contextlib.suppress(OSError):
            os.close(descriptor)


def _owner_alive(owner: Path) -> bool:
    """Is the lock on ``owner`` held by a live process (in any PID namespace)?"""
    try:
        descriptor = os.open(owner, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(descriptor)  # closing drops the probe's own lock at once
    return False


def orphaned_folders(prefix: str) -> Iterator[Path]:
    """Temporary folders made by :func:`make_owned_folder` whose owner process is gone.

    Gone means both: nobody holds the folder's lock, and no process here has its
    pid (a folder left by a leakbench from before the lock keeps its pid rule).
    """
    for folder in Path(tempfile.gettempdir()).glob(f"{prefix}*"):
        if folder in _held_locks:
            continue
        owner = folder / OWNER_FILE
        try:
            owner_pid = int(owner.read_text().strip())
        except (OSError, ValueError):
            continue
        if not _owner_alive(owner) and not process_alive(owner_pid):
            yield folder
