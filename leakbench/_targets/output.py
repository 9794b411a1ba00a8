"""A target's output: read from its pipe into a capped log that rotates, echoed live on ``-v``.

The target writes its stdout and stderr into one pipe; a daemon thread here
copies it, line by line, into ``target.log``. When the file passes the cap it
becomes ``target.log.1`` (replacing the one before) and a new file starts, so
a chatty app keeps its first lines' successor and its latest ones, never more
than twice the cap on disk. :meth:`TargetOutput.save` copies both into the
run's report folder, so the output of every row outlives the run.

A start failure is shown as the app printed it: :meth:`TargetOutput.last_traceback`
returns the last Python traceback, its own lines, not folded into a paragraph.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO

from leakbench._redaction import redact

# Per file: the log and its one rotated predecessor hold at most twice this.
DEFAULT_CAP_BYTES = 1024 * 1024
_TRACEBACK_START = "Traceback (most recent call last):"
_LONGEST_TRACEBACK = 60  # lines: a deep import chain, without drowning the terminal
_JOIN_SECONDS = 5.0


class TargetOutput:
    """One target process's output, followed while it runs."""

    def __init__(
        self,
        path: Path,
        *,
        cap_bytes: int = DEFAULT_CAP_BYTES,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.path = path
        self._cap = cap_bytes
        self._echo = echo
        self._thread: threading.Thread | None = None

    @property
    def rotated(self) -> Path:
        return self.path.with_name(self.path.name + ".1")

    def follow(self, stream: IO[bytes]) -> None:
        """Copy ``stream`` into the log until it ends (the process exited), in a daemon thread."""
        self._thread = threading.Thread(
            target=self._copy, args=(stream,), name="leakbench-target-output", daemon=True
        )
        self._thread.start()

    def wait(self) -> None:
        """Wait until everything the process wrote is in the log (its pipe closed)."""
        if self._thread is not None:
            self._thread.join(_JOIN_SECONDS)

    def _copy(self, stream: IO[bytes]) -> None:
        # The pipe is read to its end whatever happens to the log: a target whose output
        # nobody reads would block, or die of a broken pipe, and fail its row for nothing.
        log: IO[bytes] | None = self._open()
        try:
            for line in iter(stream.readline, b""):
                if self._echo is not None:
                    self._echo(line.decode("utf-8", "replace").rstrip("\n"))
                if log is not None:
                    log = self._write(log, line)
        except (OSError, ValueError):  # the pipe itself failed: nothing more to read
            pass
        finally:
            if log is not None:
                log.close()
            with contextlib.suppress(OSError):
                stream.close()

    def _open(self) -> IO[bytes] | None:
        try:
            return self.path.open("ab")
        except OSError:
            return None

    def _write(self, log: IO[bytes], line: bytes) -> IO[bytes] | None:
        """Write a line; rotate past the cap. None once the log cannot be written."""
        try:
            log.write(line)
            log.flush()
            if log.tell() > self._cap:
                log.close()
                self.path.replace(self.rotated)
                return self._open()
        except (OSError, ValueError):
            with contextlib.suppress(OSError):
                log.close()
            return None
        return log

    def text(self) -> str:
        """Everything kept: the rotated file, then the current one."""
        parts = []
        for path in (self.rotated, self.path):
            with contextlib.suppress(OSError):
                parts.append(path.read_text(encoding="utf-8", errors="replace"))
        return "".join(parts)

    def tail(self, lines: int = 8) -> list[str]:
        """The last non-blank lines, as printed."""
        return [line for line in self.text().splitlines() if line.strip()][-lines:]

    def last_traceback(self) -> list[str]:
        """The last traceback the process printed, its own lines; empty if there is none."""
        lines = self.text().splitlines()
        starts = [i for i, line in enumerate(lines) if line.startswith(_TRACEBACK_START)]
        if not starts:
            return []
        block = lines[starts[-1] :]
        # The traceback ends at the exception line: the first unindented line after it.
        for index, line in enumerate(block[1:], start=1):
            if line and not line[0].isspace():
                block = block[: index + 1]
                break
        if len(block) > _LONGEST_TRACEBACK:
            cut = len(block) - _LONGEST_TRACEBACK + 1
            block = [block[0], f"  ... {cut} lines cut ...", *block[-(_LONGEST_TRACEBACK - 2) :]]
        return block

    def save(self, destination: Path) -> Path | None:
        """Copy what is kept to ``destination`` (its folder is made), redacted as every
        output is (an app may print its DATABASE_URL); None if that failed."""
        self.wait()
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            parts = [path.read_bytes() for path in (self.rotated, self.path) if path.is_file()]
            text = b"".join(parts).decode("utf-8", errors="replace")
            destination.write_text(redact(text), encoding="utf-8")
        except OSError:
            return None
        return destination
