"""Plain progress lines for a run (the default when stdout is not a terminal)."""

from __future__ import annotations

from rich.console import Console

from leakbench.output.terminal import verdict_text
from leakbench.progress.events import RunObserver
from leakbench.results import Phase, RowResult


class LineObserver(RunObserver):
    """One line when a row starts, changes phase and ends."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._row_open = False  # a row's line has been started and not ended

    def run_started(self, database: str) -> None:
        self.console.print(f"database: {database}", highlight=False)

    def row_started(self, pattern: str, endpoint: str, duration: float | None) -> None:
        self.console.print(f"{pattern} {endpoint}: load", highlight=False, end="")
        self._row_open = True

    def phase_changed(self, phase: Phase, limit_seconds: float | None) -> None:
        if phase is Phase.SETTLE:
            self.console.print(" → settle", highlight=False, end="")

    def row_finished(self, row: RowResult) -> None:
        if not self._row_open:  # the row failed before its load began
            self.console.print(f"{row.pattern} {row.endpoint}:", highlight=False, end="")
        self.console.print(" → ", verdict_text(row.verdict), highlight=False)
        self._row_open = False

    def warning(self, text: str) -> None:
        self.console.print(f"[yellow]warning:[/] {text}", highlight=False)
