"""What the analysis is given about one row (:class:`Observation`), and its simple measures.

Pure, no I/O: the runner fills an :class:`Observation` from its phases and
:func:`leakbench._verdict.analysis.judge` decides from it alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from leakbench._results import (
    ActivitySample,
    Capacity,
    CheckoutSite,
    MadeEngines,
    PoolStats,
    Reclaims,
    SessionEnds,
)


def is_quiet(sample: ActivitySample, baseline: ActivitySample) -> bool:
    """True when nothing above the baseline is running or holding a transaction."""
    return sample.active <= baseline.active and sample.in_transaction <= baseline.in_transaction


def settle_reached(
    samples: Sequence[ActivitySample], baseline: ActivitySample, quiet_period: float
) -> bool:
    """True when the trailing run of quiet samples spans at least ``quiet_period`` seconds."""
    if not samples or not is_quiet(samples[-1], baseline):
        return False
    first_quiet = samples[-1].t
    for sample in reversed(samples):
        if not is_quiet(sample, baseline):
            break
        first_quiet = sample.t
    return samples[-1].t - first_quiet >= quiet_period


def residue(sample: ActivitySample, baseline: ActivitySample) -> int:
    """Connections above the baseline that are active or inside a transaction."""
    return max(0, sample.in_transaction - baseline.in_transaction) + max(
        0, sample.active - baseline.active
    )


@dataclass(frozen=True, slots=True)
class PoolView:
    """The target's pools as its probe counted them: at the baseline, after the settle,
    and after the forced collection (None when none was forced or it did not answer).

    ``survived_gc`` is how many of the very checkouts held after the settle
    were still held after the collection (None when the probe could not name them).
    """

    baseline: PoolStats
    after_settle: PoolStats
    after_gc: PoolStats | None = None
    survived_gc: int | None = None

    @property
    def leaked(self) -> int:
        """Connections checked out after the settle beyond the baseline's."""
        return max(0, self.after_settle.checked_out - self.baseline.checked_out)

    @property
    def leaked_after_gc(self) -> int | None:
        """The leaked connections still checked out after the collection.

        Counts alone can mislead, as with transactions: a request still queued
        for the pool takes a connection the collection freed at once. So the
        very checkouts are compared when the probe names them.
        """
        if self.after_gc is None:
            return None
        if self.survived_gc is not None:
            return min(self.survived_gc, self.leaked)
        return max(0, self.after_gc.checked_out - self.baseline.checked_out)

    @property
    def seen(self) -> bool:
        """Whether the target has a pool (SQLAlchemy's or psycopg_pool's) whose counts can
        vouch for anything."""
        return self.after_settle.seen

    @property
    def checkouts(self) -> int:
        """Checkouts during the row: requests that ran SQL through the pool."""
        return max(0, self.after_settle.checkouts - self.baseline.checkouts)


@dataclass(frozen=True, slots=True)
class Observation:
    """Everything measured about one row, as input to :func:`judge`."""

    baseline: ActivitySample
    during: tuple[ActivitySample, ...]
    after_settle: ActivitySample
    settled: bool
    settle_seconds: float
    completed_requests: int
    # Responses that reached the handler (2xx, 3xx, 5xx); -1 when unknown.
    exercised_requests: int = -1
    after_gc: ActivitySample | None = None
    sample_gaps: int = 0
    expected_samples: int = 0
    # Sessions PostgreSQL ended during the row; None when it does not say (before 14).
    session_ends: SessionEnds | None = None
    # The server restarted between the baseline and the after-settle snapshot.
    server_restarted: bool = False
    capacity: Capacity | None = None
    # The pool view; None when unknown (attach mode, no SQLAlchemy or psycopg_pool pool).
    pool: PoolView | None = None
    # Transactions in the target's database during the row (pg_stat_database,
    # leakbench's own excluded; flushed lazily by PostgreSQL, so a lower bound).
    database_transactions: int | None = None
    # The target's live connections that ran a statement during the row, and the
    # sessions opened to its database during it; None when unknown.
    connections_used: int | None = None
    new_sessions: int | None = None
    # The most connections the target's pools keep idle (workers x pool_size), when known.
    idle_limit: int | None = None
    # Where the connections still checked out after the collection were taken.
    leak_sites: tuple[CheckoutSite, ...] = ()
    # Checkouts held after the settle that the app returned since: requests in flight.
    in_flight_sites: tuple[CheckoutSite, ...] = ()
    # Checkouts the garbage collector ended during the load and the settle (probe).
    reclaims: Reclaims | None = None
    # Engines made during the row and still alive after the settle (probe).
    made_engines: MadeEngines | None = None
    # Requests that got no answer (timeouts, transport errors, disconnects), and of
    # those the timeouts; answers with a 5xx status. Unknown (external load): 0.
    failed_requests: int = 0
    timed_out_requests: int = 0
    server_errors: int = 0

    @property
    def answered(self) -> bool:
        """False when requests completed but none got an HTTP answer."""
        return self.completed_requests <= 0 or self.failed_requests < self.completed_requests

    def no_answer(self) -> str:
        """``Every response was a 4xx``, or the truth when no request got an answer at all."""
        if self.answered:
            return "Every response was a 4xx"
        failed = self.failed_requests - self.timed_out_requests
        return (
            f"No request got an answer ({self.timed_out_requests} timed out"
            + (f", {failed} failed" if failed else "")
            + ")"
        )


def beyond_pools(
    sample: ActivitySample,
    baseline: ActivitySample,
    *,
    capacity: int | None,
    idle_limit: int | None,
) -> int:
    """Connections the target holds beyond what its pools allow, or can keep idle.

    ``idle_limit`` is given only when the pool view is unknown: a QueuePool
    keeps at most pool_size connections idle, so idle connections beyond the
    baseline's plus that many are held outside the pools (or checked out).
    """
    over_total = sample.total - capacity if capacity is not None else 0
    over_idle = sample.idle - baseline.idle - idle_limit if idle_limit is not None else 0
    return max(0, over_total, over_idle)
