"""How a run tells the outside world what it is doing (the live view, log lines)."""

from __future__ import annotations

from leakbench.load.driver import LoadProgress
from leakbench.results import ActivitySample, Phase, RowResult


class RunObserver:
    """Receives progress from a run. Every method may be called from a helper thread."""

    def run_started(self, database: str) -> None:
        """The database server is ready."""

    def database_created(self, database: str) -> None:
        """A target's own database exists; its connections show under this datname."""

    def row_started(self, pattern: str, endpoint: str, duration: float | None) -> None:
        """A row's target is up and its load is about to begin."""

    def phase_changed(self, phase: Phase, limit_seconds: float | None) -> None:
        """The row moved to the load, settle or final phase."""

    def tick(self, progress: LoadProgress, sample: ActivitySample | None) -> None:
        """A few times a second while a row runs."""

    def pool_seen(self, checked_out: int) -> None:
        """The target's pools had this many connections checked out (four times a second,
        during the load only)."""

    def row_finished(self, row: RowResult) -> None:
        """A row has its verdict."""

    def warning(self, text: str) -> None:
        """Something the user should know that does not stop the run."""
