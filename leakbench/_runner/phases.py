"""The phases of a row, each a step on a target and a poller: baseline, load, settle, look, collect.

Each phase is a function of what it needs (a :class:`Poller`, a
:class:`leakbench._targets.handle.TargetHandle`, the figures of the phases
before it), so it can be tested alone with fakes. Their order, and why the
database is read before the target is touched, is told in
:mod:`leakbench._runner.row`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from leakbench._load.driver import LoadPlan, LoadProgress
from leakbench._progress.events import RunObserver
from leakbench._results import (
    ActivitySample,
    CheckoutSite,
    ExternalLoad,
    LoadStats,
    MadeEngines,
    Phase,
    PoolStats,
    Reclaims,
    SessionEnds,
)
from leakbench._system import shutdown
from leakbench._targets.handle import RowSpec, TargetHandle
from leakbench._verdict import analysis
from leakbench.errors import TargetError

# After a forced collection, finalizers return connections to the pool at once;
# this pause lets the server see the ROLLBACK that follows.
AFTER_GC_PAUSE = 0.3
# Tries at the after-settle snapshot, one poll interval apart, before giving up.
FINAL_ATTEMPTS = 20
# Most seconds to wait, after a --login, for its transaction to end before the baseline.
LOGIN_QUIET_SECONDS = 2.0
# While the settle waits for the pool, it reads it at most this often.
POOL_READ_SECONDS = 0.25
# After a settle that ran out of time, how long to look for one quiet moment.
QUIET_LOOK_SECONDS = 1.5

# A row's load step: leakbench's own driver, or another tool it waits for (watch mode).
LoadStep = Callable[[LoadPlan, LoadProgress], LoadStats | ExternalLoad]


class Poller(Protocol):
    """What a row reads of the database (:class:`leakbench._postgres.poller.ActivityPoller`)."""

    interval: float
    phase: Phase
    gaps: int

    def restart_clock(self) -> None: ...

    def elapsed(self) -> float: ...

    def samples(self) -> tuple[ActivitySample, ...]: ...

    def latest(self) -> ActivitySample | None: ...

    def snapshot(self, phase: Phase) -> ActivitySample | None: ...

    def session_ends(self) -> SessionEnds | None: ...

    def server_started_at(self) -> str | None: ...

    def transactions(self) -> int | None: ...

    def sessions(self) -> int | None: ...

    def server_now(self) -> str | None: ...

    def ran_since(self, since: str) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Baseline:
    """The database and the pool before the load."""

    sample: ActivitySample
    session_ends: SessionEnds | None
    server_started_at: str | None
    pool: PoolStats | None
    transactions: int | None
    sessions: int | None
    # The server's clock when the row began (None when it could not be read).
    server_now: str | None


def await_login_quiet(poller: Poller) -> None:
    """Let the login's own transaction end before the baseline, so it is not counted in it.

    FastAPI may close a request's session after the answer is sent; the login
    answer can thus arrive while its connection is still in a transaction.
    """
    deadline = time.monotonic() + LOGIN_QUIET_SECONDS
    while time.monotonic() < deadline:
        sample = poller.snapshot(Phase.BASELINE)
        if sample is not None and sample.active == 0 and sample.in_transaction == 0:
            return
        time.sleep(poller.interval)


def take_baseline(poller: Poller, target: TargetHandle) -> Baseline:
    """The first phase: what the database and the pool hold before any load."""
    poller.restart_clock()
    sample = poller.snapshot(Phase.BASELINE)
    if sample is None:
        raise TargetError("pg_stat_activity could not be read before the load started.")
    ends = poller.session_ends()
    started_at = poller.server_started_at()
    pool = target.pool_stats()
    target.mark_checkouts()
    return Baseline(
        sample=sample,
        session_ends=ends,
        server_started_at=started_at,
        pool=pool,
        transactions=poller.transactions(),
        sessions=poller.sessions(),
        server_now=poller.server_now(),
    )


def load(
    poller: Poller,
    observer: RunObserver,
    drive: LoadStep,
    plan: LoadPlan,
    progress: LoadProgress,
    *,
    duration: float | None,
) -> LoadStats | ExternalLoad:
    """The load phase: the samples are tagged LOAD while ``drive`` sends the load."""
    poller.phase = Phase.LOAD
    observer.phase_changed(Phase.LOAD, duration)
    outcome = drive(plan, progress)
    shutdown.check()  # a Ctrl-C the event loop swallowed still stops the run here
    return outcome


def settle(
    poller: Poller,
    target: TargetHandle,
    baseline: Baseline,
    *,
    settle_seconds: float,
    quiet_period: float,
    poll_interval: float,
) -> tuple[bool, float]:
    """Wait until the target is quiet for the quiet period, or the settle time is up.

    Quiet means PostgreSQL's view back at the baseline and then, when a probe
    answers, the pool's checked-out count too: a request still running in
    the target (its client gave up) may hold a connection idle to PostgreSQL.
    The pool is read only once PostgreSQL is quiet, so a leak whose
    transactions stay open is never disturbed by the reads. Returns whether
    it settled, and after how many seconds.
    """
    started = time.monotonic()
    deadline = started + settle_seconds
    next_pool_read = started
    while time.monotonic() < deadline:
        shutdown.check()
        settling = [s for s in poller.samples() if s.phase is Phase.SETTLE]
        if analysis.settle_reached(settling, baseline.sample, quiet_period):
            if baseline.pool is None:
                return True, round(time.monotonic() - started, 2)
            if time.monotonic() >= next_pool_read:
                next_pool_read = time.monotonic() + POOL_READ_SECONDS
                pool = target.pool_stats()
                if pool is None or pool.checked_out <= baseline.pool.checked_out:
                    return True, round(time.monotonic() - started, 2)
        time.sleep(poll_interval)
    return False, round(time.monotonic() - started, 2)


@dataclass(frozen=True, slots=True)
class SecondLook:
    """The database after the settle, then the pool: what the row is judged on."""

    final: ActivitySample
    session_ends: SessionEnds | None
    server_restarted: bool
    pool: PoolStats | None
    transactions: int | None
    new_sessions: int | None
    connections_used: int | None
    # What the probe saw as it happened (read before the forced collection, which would
    # add its own reclaims), and the drivers the app's engines use.
    reclaims: Reclaims | None = None
    made_engines: MadeEngines | None = None
    drivers: tuple[str, ...] = ()


def second_look(
    poller: Poller, target: TargetHandle, baseline: Baseline, *, settled: bool
) -> SecondLook | None:
    """The database first (the after-settle snapshot and counters), only then the pool.

    Talking to the probe allocates objects and could trigger the very
    collection that hides a leak, so the target is touched last. None when
    pg_stat_activity could not be read.
    """
    final = final_snapshot(poller, baseline.sample, settled=settled)
    if final is None:
        return None
    started_after = poller.server_started_at()
    ends = _since(baseline.session_ends, poller.session_ends())
    pool = target.pool_stats()
    if (
        pool is not None
        and baseline.pool is not None
        and analysis.residue(final, baseline.sample) == 0
    ):
        # PostgreSQL is quiet: a checkout now may be the app's own background work (a
        # periodic job) holding a connection outside a transaction; a leak stays.
        pool = pool_once_quiet(target, pool, baseline.pool, QUIET_LOOK_SECONDS)
    seen = pool is not None
    return SecondLook(
        final=final,
        session_ends=ends,
        server_restarted=None not in (baseline.server_started_at, started_after)
        and baseline.server_started_at != started_after,
        pool=pool,
        transactions=_since_count(baseline.transactions, poller.transactions()),
        new_sessions=_since_count(baseline.sessions, poller.sessions()),
        connections_used=(
            poller.ran_since(baseline.server_now) if baseline.server_now is not None else None
        ),
        reclaims=target.reclaims() if seen else None,
        made_engines=target.made_engines() if seen else None,
        drivers=target.drivers() if seen else (),
    )


def final_snapshot(
    poller: Poller, baseline: ActivitySample, *, settled: bool
) -> ActivitySample | None:
    """The after-settle snapshot, retried briefly: a lost sample here cannot be guessed.

    When the settle ran out of time, the app may only be busy with work of its
    own (a periodic job holding a short transaction half of the time never
    leaves a quiet second). A leak persists at every look, so looks go on for
    a while after the settle and the first quiet one, if any, is the snapshot.
    """
    sample = None
    for _attempt in range(FINAL_ATTEMPTS):
        sample = poller.snapshot(Phase.FINAL)
        if sample is not None:
            break
        time.sleep(poller.interval)
    if sample is None or settled:
        return sample
    deadline = time.monotonic() + QUIET_LOOK_SECONDS
    while analysis.residue(sample, baseline) and time.monotonic() < deadline:
        time.sleep(POOL_READ_SECONDS)
        sample = poller.snapshot(Phase.FINAL) or sample
    return sample


def pool_once_quiet(
    target: TargetHandle, pool: PoolStats, baseline: PoolStats, within: float
) -> PoolStats:
    """The pool read again for up to ``within`` seconds until no checkout is above the baseline."""
    deadline = time.monotonic() + within
    while pool.checked_out > baseline.checked_out and time.monotonic() < deadline:
        time.sleep(POOL_READ_SECONDS)
        pool = target.pool_stats() or pool
    return pool


@dataclass(frozen=True, slots=True)
class Collection:
    """What the forced collection showed: the pool view with its after side, sites, a look."""

    pool_view: analysis.PoolView | None
    sites: tuple[CheckoutSite, ...]
    after_gc: ActivitySample | None
    # Sites of checkouts the app returned after the settle: requests still in flight.
    in_flight: tuple[CheckoutSite, ...] = ()


def collect_and_look(
    *,
    spec: RowSpec,
    target: TargetHandle,
    poller: Poller,
    baseline: ActivitySample,
    final: ActivitySample,
    pool_view: analysis.PoolView | None,
    idle_limit: int | None,
) -> Collection:
    """When anything is left, where it was taken, then a forced collection and a look at both.

    The after-collection snapshot is None when nothing was left or no collection answered.
    """
    sites: tuple[CheckoutSite, ...] = ()
    held: frozenset[str] = frozenset()
    if pool_view is not None and pool_view.leaked:
        sites = target.checkout_sites()
        held = target.outstanding_checkouts()
    suspect = (
        analysis.residue(final, baseline)
        or (pool_view is not None and pool_view.leaked)
        or analysis.beyond_pools(
            final,
            baseline,
            capacity=spec.pool_limit,
            idle_limit=idle_limit if pool_view is None else None,
        )
    )
    if not suspect or not target.force_gc():
        leaked, in_flight = _split(target, sites)
        return Collection(pool_view, leaked, None, in_flight)
    time.sleep(AFTER_GC_PAUSE)
    after_gc = poller.snapshot(Phase.AFTER_GC)
    if pool_view is not None:
        # The very checkouts still out, not a count a queued request could refill.
        survivors = len(held & target.outstanding_checkouts()) if held else None
        pool_view = analysis.PoolView(
            pool_view.baseline, pool_view.after_settle, target.pool_stats(), survivors
        )
    leaked, in_flight = _split(target, sites)
    return Collection(pool_view, leaked, after_gc, in_flight)


def _split(
    target: TargetHandle, sites: tuple[CheckoutSite, ...]
) -> tuple[tuple[CheckoutSite, ...], tuple[CheckoutSite, ...]]:
    """Leak sites, and apart those the app returned since: requests still in flight (waiting
    for the pool when the settle ended) held them, they were no leak."""
    split = target.checkout_fates() if sites else None
    return split if split is not None else (sites, ())


def completed_requests(load: LoadStats | None, external: ExternalLoad | None) -> int:
    """Requests completed, or -1 when the tool that sent them does not say."""
    if load is not None:
        return load.completed
    if external is not None and external.requests is not None:
        return external.requests
    return -1


def _since(before: SessionEnds | None, after: SessionEnds | None) -> SessionEnds | None:
    if before is None or after is None:
        return None
    return SessionEnds(
        fatal=after.fatal - before.fatal,
        killed=after.killed - before.killed,
        abandoned=after.abandoned - before.abandoned,
    )


def _since_count(before: int | None, after: int | None) -> int | None:
    if before is None or after is None:
        return None
    return max(0, after - before)
