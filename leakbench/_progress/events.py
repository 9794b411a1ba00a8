"""How a run tells the outside world what it is doing: frozen events, one observer method.

The runner calls the named methods of :class:`RunObserver` (``row_started``,
``tick``...); each turns its arguments into one frozen event and hands it to
:meth:`RunObserver.notify`, the only method an observer overrides. So adding
a callback is one edit here (an event and its method), a group of observers
forwards every event with one loop, and no observer ever holds the driver's
live counters, which keep changing under it: a tick carries a
:class:`LoadSnapshot` copied at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

from leakbench._load.driver import LoadProgress
from leakbench._results import ActivitySample, Phase, RowResult


@dataclass(frozen=True, slots=True)
class LoadSnapshot:
    """The load driver's counters at one moment."""

    sent: int = 0
    completed: int = 0
    # Of the completed, those the server answered: what "requests" and req/s show.
    answered: int = 0
    # Transport errors and timeouts; HTTP statuses are answers, counted apart.
    errors: int = 0
    server_errors: int = 0
    # Another tool sends the load (watch mode): the counts above stay at 0.
    load_tool: str | None = None
    # Requests and streams the clients left early as asked, and streams open now.
    left: int = 0
    streams_open: int = 0

    @classmethod
    def of(cls, progress: LoadProgress) -> LoadSnapshot:
        return cls(
            sent=progress.sent,
            completed=progress.completed,
            answered=progress.answered,
            errors=progress.transport_errors + progress.timeouts,
            server_errors=progress.server_errors,
            load_tool=progress.load_tool,
            left=progress.aborted + progress.streams_left,
            streams_open=progress.streams_open,
        )


@dataclass(frozen=True, slots=True)
class RunStarted:
    """The database server is ready."""

    database: str


@dataclass(frozen=True, slots=True)
class DatabaseCreated:
    """A target's own database exists; its connections show under this datname."""

    database: str


@dataclass(frozen=True, slots=True)
class RowStarted:
    """A row's target is up and its load is about to begin."""

    target: str
    endpoint: str
    duration: float | None


@dataclass(frozen=True, slots=True)
class PhaseChanged:
    """The row moved to the load, settle or final phase."""

    phase: Phase
    limit_seconds: float | None


@dataclass(frozen=True, slots=True)
class Tick:
    """A few times a second while a row runs: the load's counts and the latest sample."""

    load: LoadSnapshot
    sample: ActivitySample | None


@dataclass(frozen=True, slots=True)
class PoolSeen:
    """The target's pools had this many connections checked out (four times a second,
    during the load only)."""

    checked_out: int


@dataclass(frozen=True, slots=True)
class RowFinished:
    """A row has its verdict."""

    row: RowResult


@dataclass(frozen=True, slots=True)
class RunWarning:
    """Something the user should know that does not stop the run."""

    text: str


Event: TypeAlias = (
    RunStarted
    | DatabaseCreated
    | RowStarted
    | PhaseChanged
    | Tick
    | PoolSeen
    | RowFinished
    | RunWarning
)


class RunObserver:
    """Receives progress from a run. Every method may be called from a helper thread.

    Override :meth:`notify`; the named methods are what the runner calls.
    """

    def notify(self, event: Event) -> None:
        """Receive one event (the base class ignores them all)."""

    def run_started(self, database: str) -> None:
        self.notify(RunStarted(database))

    def database_created(self, database: str) -> None:
        self.notify(DatabaseCreated(database))

    def row_started(self, pattern: str, endpoint: str, duration: float | None) -> None:
        self.notify(RowStarted(pattern, endpoint, duration))

    def phase_changed(self, phase: Phase, limit_seconds: float | None) -> None:
        self.notify(PhaseChanged(phase, limit_seconds))

    def tick(self, progress: LoadProgress, sample: ActivitySample | None) -> None:
        self.notify(Tick(LoadSnapshot.of(progress), sample))

    def pool_seen(self, checked_out: int) -> None:
        self.notify(PoolSeen(checked_out))

    def row_finished(self, row: RowResult) -> None:
        self.notify(RowFinished(row))

    def warning(self, text: str) -> None:
        self.notify(RunWarning(text))


class MatrixProgress:
    """Told what ``leakbench matrix`` does between its runs (which report to a RunObserver).

    Every method may be left as is.
    """

    def environment_ready(self, label: str, *, reused: bool, seconds: float) -> None:
        """The environment of the combination ``label`` was built, or found in the cache."""

    def column_started(self, index: int, count: int, label: str) -> None:
        """The rows are about to run on the combination ``label`` (``index`` from 0)."""
