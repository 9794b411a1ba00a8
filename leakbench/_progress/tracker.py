"""The running row as one consistent, immutable snapshot, built from observer callbacks.

The runner reports progress from several threads (the main thread for phase
changes, the ticker thread for counts). Both the live view and the metrics
endpoint need the same derived figures (elapsed and remaining time, a
recent request rate), so :class:`RowTracker` keeps them in one place
behind a lock, fed by :meth:`RowTracker.apply`, and hands out frozen
:class:`RowSnapshot` values.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from leakbench._progress.events import (
    Event,
    LoadSnapshot,
    PhaseChanged,
    PoolSeen,
    RowFinished,
    RowStarted,
    Tick,
)
from leakbench._results import ActivitySample, Phase

Clock = Callable[[], float]

# The request rate is measured over this trailing window, so it reacts to a
# stall within about a second instead of averaging over the whole row.
RATE_WINDOW_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class RowSnapshot:
    """Where the current row stands, at one moment."""

    target: str
    endpoint: str
    phase: Phase
    duration: float | None
    load_seconds: float
    phase_seconds: float
    phase_limit: float | None
    sent: int = 0
    completed: int = 0
    # Of the completed, those the server answered: what "requests" and req/s show.
    answered: int = 0
    errors: int = 0
    server_errors: int = 0
    requests_per_second: float = 0.0
    sample: ActivitySample | None = None
    # Read from the target during the load only (see leakbench._runner.row).
    pool_checked_out: int | None = None
    # Another tool sends the load (watch mode): the request counts are not known.
    load_tool: str | None = None
    # Requests and streams the clients left early as asked, and streams open now.
    left: int = 0
    streams_open: int = 0

    @property
    def load_remaining(self) -> float | None:
        """Seconds of load left, when the load is bounded by a duration."""
        if self.duration is None or self.phase is not Phase.LOAD:
            return None
        return max(0.0, self.duration - self.load_seconds)

    @property
    def phase_remaining(self) -> float | None:
        """Seconds until the current phase's limit (the settle countdown)."""
        if self.phase_limit is None:
            return None
        return max(0.0, self.phase_limit - self.phase_seconds)


class RowTracker:
    """Thread-safe record of the running row; ``snapshot()`` is None between rows."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._row: tuple[str, str, float | None] | None = None
        self._phase = Phase.BASELINE
        self._phase_limit: float | None = None
        self._phase_started = 0.0
        self._load_started: float | None = None
        self._load_ended: float | None = None
        self._counts = (0, 0, 0, 0)
        self._extra = (0, 0, 0)
        self._recent: deque[tuple[float, int]] = deque()
        self._sample: ActivitySample | None = None
        self._pool_checked_out: int | None = None
        self._load_tool: str | None = None

    def apply(self, event: Event) -> None:
        """Follow the run: the events about the running row; the others are not its business."""
        match event:
            case RowStarted(pattern, endpoint, duration):
                self.start(pattern, endpoint, duration)
            case PhaseChanged(phase, limit_seconds):
                self.change_phase(phase, limit_seconds)
            case Tick(load, sample):
                self.record(load, sample)
            case PoolSeen(checked_out):
                self.record_pool(checked_out)
            case RowFinished():
                self.finish()
            case _:
                pass

    def start(self, pattern: str, endpoint: str, duration: float | None) -> None:
        with self._lock:
            self._row = (pattern, endpoint, duration)
            self._phase, self._phase_limit = Phase.BASELINE, None
            self._phase_started = self._clock()
            self._load_started = self._load_ended = None
            self._counts = (0, 0, 0, 0)
            self._extra = (0, 0, 0)
            self._recent.clear()
            self._sample = None
            self._load_tool = None
            self._pool_checked_out = None

    def change_phase(self, phase: Phase, limit_seconds: float | None) -> None:
        with self._lock:
            now = self._clock()
            if phase is Phase.LOAD:
                self._load_started = now
            elif self._phase is Phase.LOAD:
                self._load_ended = now
                self._pool_checked_out = None  # not read after the load: it would go stale
            self._phase, self._phase_limit, self._phase_started = phase, limit_seconds, now

    def record(self, load: LoadSnapshot, sample: ActivitySample | None) -> None:
        """Take the load's counts at this moment and the latest sample."""
        with self._lock:
            now = self._clock()
            self._counts = (load.sent, load.completed, load.answered, load.errors)
            self._extra = (load.server_errors, load.left, load.streams_open)
            self._load_tool = load.load_tool
            self._recent.append((now, load.answered))
            while len(self._recent) > 2 and now - self._recent[1][0] >= RATE_WINDOW_SECONDS:
                self._recent.popleft()
            if sample is not None:
                self._sample = sample

    def record_pool(self, checked_out: int) -> None:
        with self._lock:
            if self._phase is Phase.LOAD:
                self._pool_checked_out = checked_out

    def finish(self) -> None:
        with self._lock:
            self._row = None

    def snapshot(self) -> RowSnapshot | None:
        with self._lock:
            if self._row is None:
                return None
            now = self._clock()
            pattern, endpoint, duration = self._row
            sent, completed, answered, errors = self._counts
            server_errors, left, streams_open = self._extra
            return RowSnapshot(
                target=pattern,
                endpoint=endpoint,
                phase=self._phase,
                duration=duration,
                load_seconds=self._load_elapsed(now),
                phase_seconds=now - self._phase_started,
                phase_limit=self._phase_limit,
                sent=sent,
                completed=completed,
                answered=answered,
                errors=errors,
                server_errors=server_errors,
                # Requests only flow in the load phase; a trailing window would linger.
                requests_per_second=self._rate() if self._phase is Phase.LOAD else 0.0,
                sample=self._sample,
                pool_checked_out=self._pool_checked_out,
                load_tool=self._load_tool,
                left=left,
                streams_open=streams_open,
            )

    def _load_elapsed(self, now: float) -> float:
        if self._load_started is None:
            return 0.0
        end = self._load_ended if self._load_ended is not None else now
        return end - self._load_started

    def _rate(self) -> float:
        if len(self._recent) < 2:
            return 0.0
        (t0, c0), (t1, c1) = self._recent[0], self._recent[-1]
        return (c1 - c0) / (t1 - t0) if t1 > t0 else 0.0
