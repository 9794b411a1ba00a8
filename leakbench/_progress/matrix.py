"""What ``leakbench matrix`` says between its runs, as plain lines.

The runs themselves report to a :class:`~leakbench._progress.events.RunObserver`;
the protocol of these lines is :class:`~leakbench._progress.events.MatrixProgress`.
"""

from __future__ import annotations

from rich.console import Console

from leakbench._output.style import COLUMN_STYLE
from leakbench._progress.events import MatrixProgress


class MatrixLines(MatrixProgress):
    """One plain line per event, on the console the run's progress uses."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def environment_ready(self, label: str, *, reused: bool, seconds: float) -> None:
        how = "reused" if reused else "built"
        self.console.print(f"environment {label}: {how} in {seconds:.1f} s", soft_wrap=True)

    def column_started(self, index: int, count: int, label: str) -> None:
        self.console.print(
            f"combination {index + 1}/{count}: {label}", style=COLUMN_STYLE, soft_wrap=True
        )
