"""Plain progress lines for a run (the default when stdout is not a terminal)."""

from __future__ import annotations

from rich.console import Console

from leakbench._output.style import verdict_text, warning_text
from leakbench._progress.events import (
    Event,
    PhaseChanged,
    RowFinished,
    RowStarted,
    RunObserver,
    RunStarted,
    RunWarning,
)
from leakbench._results import Phase, RowResult


class LineObserver(RunObserver):
    """One line when a row starts, changes phase and ends."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._row_open = False  # a row's line has been started and not ended

    def notify(self, event: Event) -> None:
        match event:
            case RunStarted(database):
                self.console.print(f"database: {database}", highlight=False)
            case RowStarted(pattern, endpoint):
                self.console.print(f"{pattern} {endpoint}: load", highlight=False, end="")
                self._row_open = True
            case PhaseChanged(Phase.SETTLE):
                self.console.print(" → settle", highlight=False, end="")
            case RowFinished(row):
                self._finish(row)
            case RunWarning(text):
                self.console.print(warning_text(text), highlight=False)
            case _:
                pass

    def end_open_line(self) -> None:
        """End a row's line that no verdict will end (the run stopped with an error)."""
        if self._row_open:
            self.console.print()
            self._row_open = False

    def _finish(self, row: RowResult) -> None:
        if not self._row_open:  # the row failed before its load began
            self.console.print(f"{row.target} {row.endpoint}:", highlight=False, end="")
        self.console.print(" → ", verdict_text(row.verdict), highlight=False)
        self._row_open = False
