"""Run leakbench as a real child process and find everything it started.

Every process leakbench starts inherits the environment, so a unique marker
variable finds them all in the process table, however deep.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psutil

from leakbench._system.processes import OWNER_FILE

MARKER_ENV = "LEAKBENCH_TEST_MARKER"


class Spawned:
    """A ``leakbench`` child whose output is collected as it comes."""

    def __init__(
        self,
        args: list[str],
        cwd: Path | None = None,
        tmpdir: Path | None = None,
        *,
        prefix: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.marker = uuid.uuid4().hex
        # The child's temporary folders (its work folder, an embedded server) go to
        # ``tmpdir`` when given, out of reach of other runs cleaning up leftovers.
        self.tmpdir = Path(tmpdir or tempfile.gettempdir())
        # ``prefix``: a command the child runs under (``unshare`` for a PID namespace of its own).
        child_env = {**os.environ, **(env or {}), MARKER_ENV: self.marker, "PYTHONUNBUFFERED": "1"}
        if tmpdir is not None:
            child_env["TMPDIR"] = str(tmpdir)
        self.process = subprocess.Popen(
            [*prefix, sys.executable, "-m", "leakbench", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=child_env,
            cwd=cwd,
        )
        self._chunks: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        while chunk := self.process.stdout.read1(4096):  # type: ignore[attr-defined]
            self._chunks.append(chunk.decode(errors="replace"))

    @property
    def output(self) -> str:
        return "".join(self._chunks)

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.output:
            if self.process.poll() is not None:
                raise AssertionError(f"exited before {text!r}:\n{self.output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} within {timeout} s:\n{self.output}")
            time.sleep(0.02)

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 60.0) -> int:
        code = self.process.wait(timeout)
        self._reader.join(timeout=5)
        return code

    def descendants(self) -> list[psutil.Process]:
        """Every live process carrying this run's marker (targets, workers, postgres)."""
        found = []
        for proc in psutil.process_iter():
            try:
                if proc.pid != self.process.pid and proc.environ().get(MARKER_ENV) == self.marker:
                    found.append(proc)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                continue
        return found

    def kill_everything(self) -> None:
        for proc in [*self.descendants()]:
            proc.kill()
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def words(command: str) -> list[str]:
    """Split a command line the way a shell would, for short, readable argument lists."""
    return shlex.split(command)


def folders_of(child: Spawned, prefix: str) -> list[Path]:
    """Temporary folders the child made and did not remove, found by their owner file."""
    found = []
    for folder in child.tmpdir.glob(f"{prefix}*"):
        owner = folder / OWNER_FILE
        if owner.exists() and owner.read_text().strip() == str(child.process.pid):
            found.append(folder)
    return found


def no_survivors(spawned: Spawned, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while spawned.descendants():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
