"""Styles and consoles, in one place (as typer's ``rich_utils`` keeps its own).

Every colour leakbench prints is named here, and every console the command
line writes to is made here, so the terminal table, the progress lines and
the error messages agree, and tests can make the same console at a fixed width.
"""

from __future__ import annotations

import os
import sys
from typing import IO, cast

from rich.console import Console
from rich.text import Text

from leakbench._redaction import redact
from leakbench._results import Verdict

VERDICT_STYLES = {
    Verdict.CLEAN: "bold green",
    Verdict.LEAKED: "bold red",
    Verdict.INCONCLUSIVE: "bold yellow",
    Verdict.FAILED: "bold magenta",
    Verdict.INTERRUPTED: "bold yellow",
}
ERROR_STYLE = "bold red"
WARNING_STYLE = "yellow"
FOOTER_STYLE = "dim"
# A row's name, the labels before figures, and the live view's phase.
NAME_STYLE = "bold"
LABEL_STYLE = "dim"
PHASE_STYLE = "cyan"
# Idle in transaction in the live view: its label, and its count once above zero.
IDLE_IN_TRANSACTION_STYLE = "bold yellow"
IDLE_IN_TRANSACTION_ALERT = "bold white on red"
TABLE_TITLE = "leakbench: connections under load"
# leakbench matrix: a cell not judged ("n/a", or "-" when not run), and a column starting.
NOT_JUDGED_STYLE = "dim"
COLUMN_STYLE = "bold"

# When output goes to a file or a CI log rich would assume 80 columns; a CI
# log is usually read in a wider window. $COLUMNS, when set, wins.
PIPE_WIDTH = 120


class RedactingStream:
    """A console's file: every write passes through the one redaction path first.

    The stream is looked up at each write (``sys.stdout`` may be swapped, as
    typer's test runner does), and asked whether it is a terminal.
    """

    def __init__(self, stream: IO[str] | None = None, *, stderr: bool = False) -> None:
        self._fixed = stream
        self._stderr = stderr

    @property
    def stream(self) -> IO[str]:
        if self._fixed is not None:
            return self._fixed
        return sys.stderr if self._stderr else sys.stdout

    def write(self, text: str) -> int:
        self.stream.write(redact(text))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    @property
    def encoding(self) -> str:
        return str(getattr(self.stream, "encoding", None) or "utf-8")


def redacting(stream: IO[str] | None = None, *, stderr: bool = False) -> IO[str]:
    """``stream`` (or stdout/stderr) behind :class:`RedactingStream`, typed as a text file."""
    return cast("IO[str]", RedactingStream(stream, stderr=stderr))


def make_console(
    *, stderr: bool = False, width: int | None = None, file: IO[str] | None = None
) -> Console:
    """A console for the command line: the terminal's width, or a CI log's when piped.

    With ``width`` and ``file`` (tests), a deterministic one: that width, no
    colour, whatever the environment says. Otherwise colour follows rich's
    rules (NO_COLOR, FORCE_COLOR, a tty). Whatever it prints is redacted.
    """
    if file is not None:
        return Console(
            file=redacting(file),
            width=width or PIPE_WIDTH,
            color_system=None,
            highlight=False,
            legacy_windows=False,
            _environ={},
        )
    out = redacting(stderr=stderr)
    if width is not None:
        return Console(file=out, highlight=False, width=width)
    console = Console(file=out, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(file=out, highlight=False, width=PIPE_WIDTH)
    return console


def verdict_text(verdict: Verdict) -> Text:
    """The verdict in its colour."""
    return Text(verdict.value, style=VERDICT_STYLES[verdict])


def warning_text(text: str) -> Text:
    """``warning: ...`` as the run and the table print it."""
    return Text.assemble(("warning:", WARNING_STYLE), " ", text)


def error_text(text: str, label: str = "error:") -> Text:
    """``error: ...``, the one line a failed command prints."""
    return Text.assemble((label, ERROR_STYLE), " ", text)
