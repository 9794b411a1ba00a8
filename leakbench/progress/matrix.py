"""What ``leakbench matrix`` says between its runs: environments ready, columns starting.

The runs themselves report to a :class:`~leakbench.progress.events.RunObserver`.
"""

from __future__ import annotations

from rich.console import Console


class MatrixProgress:
    """Told what the matrix does between its runs. Every method may be left as is."""

    def environment_ready(self, label: str, *, reused: bool, seconds: float) -> None:
        """The environment of the combination ``label`` was built, or found in the cache."""

    def column_started(self, index: int, count: int, label: str) -> None:
        """The rows are about to run on the combination ``label`` (``index`` from 0)."""


class MatrixLines(MatrixProgress):
    """One plain line per event, on the console the run's progress uses."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def environment_ready(self, label: str, *, reused: bool, seconds: float) -> None:
        how = "reused" if reused else "built"
        self.console.print(f"environment {label}: {how} in {seconds:.1f} s", soft_wrap=True)

    def column_started(self, index: int, count: int, label: str) -> None:
        self.console.print(
            f"combination {index + 1}/{count}: {label}", style="bold", soft_wrap=True
        )
