"""Measuring one row, the same way whether leakbench started the target or attached to it.

A row: take a baseline of the target's connections, of the database's
transaction count (and of its pool, when a probe answers), drive the load
while sampling, let the target settle (PostgreSQL quiet, and the pool back
to its baseline), read the database (the after-settle snapshot, with the
oldest transaction and wait events, the sessions PostgreSQL ended and the
transactions it counted), and only then touch the target: read its pool and
where its connections still checked out were taken, force a garbage
collection, and look once more, at both. The judgement is made by the pure
functions of :mod:`leakbench.verdict.analysis`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from leakbench.config import Endpoint, RunConfig, Workload
from leakbench.errors import LeakbenchError, TargetError
from leakbench.load.driver import LoadPlan, LoadProgress, run_load
from leakbench.postgres import admin
from leakbench.postgres import dsn as dsn_tools
from leakbench.postgres.poller import ActivityPoller
from leakbench.progress.events import RunObserver
from leakbench.request_spec import Route
from leakbench.results import (
    ActivitySample,
    CheckoutSite,
    ExternalLoad,
    LoadStats,
    Phase,
    PoolReading,
    PoolStats,
    RowResult,
    SessionEnds,
    Verdict,
)
from leakbench.system import shutdown
from leakbench.target.login import request_headers
from leakbench.verdict import analysis, capacity

# How the poller's own connection shows in pg_stat_activity (it is never counted).
POLLER_APPLICATION_NAME = "leakbench-poller"
# Where the poller sits when the DSN names the target's database (attach mode).
_ELSEWHERE = ("postgres", "template1")
_TICK_SECONDS = 0.25
# After a forced collection, finalizers return connections to the pool at once;
# this pause lets the server see the ROLLBACK that follows.
_AFTER_GC_PAUSE = 0.3
# Tries at the after-settle snapshot, one poll interval apart, before giving up.
_FINAL_ATTEMPTS = 20
# Most seconds to wait, after a --login, for its transaction to end before the baseline.
_LOGIN_QUIET_SECONDS = 2.0
# While the settle waits for the pool, it reads it at most this often.
_POOL_READ_SECONDS = 0.25
# After a settle that ran out of time, how long to look for one quiet moment.
_QUIET_LOOK_SECONDS = 1.5


# A row's load step: leakbench's own driver, or another tool it waits for (watch mode).
LoadStep = Callable[[LoadPlan, LoadProgress], LoadStats | ExternalLoad]


class TargetHandle(Protocol):
    """What a row needs of its target: a spawned process or an app the user started."""

    @property
    def base_url(self) -> str: ...

    def alive(self) -> bool: ...

    def exit_code(self) -> int | None: ...

    def log_tail(self, lines: int = 8) -> str: ...

    def pool_stats(self) -> PoolStats | None: ...

    def force_gc(self) -> bool: ...

    def mark_checkouts(self) -> None: ...

    def outstanding_checkouts(self) -> frozenset[str]: ...

    def checkout_sites(self) -> tuple[CheckoutSite, ...]: ...


@dataclass(frozen=True, slots=True)
class RowSpec:
    """One row: the target's name, what it sends, and the connection limits known for it."""

    name: str
    workload: Workload
    workers: int = 1
    # pool_size + max_overflow of one worker when leakbench set them (scenarios).
    per_worker_capacity: int | None = None
    max_connections: int | None = None
    # pool_size of one worker (what its pool keeps idle) when leakbench set it.
    per_worker_idle: int | None = None

    @property
    def pool_limit(self) -> int | None:
        """The most connections the target's pools may hold together, when known."""
        if self.per_worker_capacity is None:
            return None
        return self.workers * self.per_worker_capacity

    def idle_limit(self, pool: PoolStats | None) -> int | None:
        """The most connections the target's pools keep idle: the probe's figure, else ours."""
        per_worker = pool.idle_capacity if pool is not None else None
        if per_worker is None:
            per_worker = self.per_worker_idle
        return None if per_worker is None else self.workers * per_worker


@contextlib.contextmanager
def activity_poller(
    admin_dsn: str, database: str, interval: float, application_name: str | None = None
) -> Iterator[ActivityPoller]:
    """A running poller of ``database`` (optionally one application_name) on its own connection."""
    dsn = _outside(admin_dsn, database)
    poller = ActivityPoller(
        lambda: admin.connect(dsn, application_name=POLLER_APPLICATION_NAME),
        database,
        interval,
        application_name=application_name,
    )
    with poller:
        yield poller


def _outside(dsn: str, database: str) -> str:
    """``dsn``, moved to another database of the server when it points at ``database``.

    Every statement the poller runs is a transaction of the database it is
    connected to, and the target's transactions prove that requests reached
    it: in attach mode the DSN names the target's own database, so the poller
    moves out when the server lets it (else the count is left unknown).
    """
    with admin.connect(dsn, application_name=POLLER_APPLICATION_NAME) as conn:
        if conn.info.dbname != database:
            return dsn
    for elsewhere in _ELSEWHERE:
        candidate = dsn_tools.with_database(dsn, elsewhere)
        try:
            with admin.connect(candidate, application_name=POLLER_APPLICATION_NAME):
                return candidate
        except LeakbenchError:
            continue
    return dsn


@contextlib.contextmanager
def _ticker(
    observer: RunObserver,
    progress: LoadProgress,
    poller: ActivityPoller,
    target: TargetHandle,
    readings: list[PoolReading],
) -> Iterator[None]:
    """Report progress four times a second; during the load, read the pool into ``readings``."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(_TICK_SECONDS):
            observer.tick(progress, poller.latest())
            # The pool is read during the load only: the target then allocates without
            # pause anyway, while a read during the settle could set off the garbage
            # collection that frees a leak before it is seen.
            if poller.phase is Phase.LOAD:
                pool = target.pool_stats()
                if pool is not None:
                    readings.append(PoolReading(poller.elapsed(), pool.checked_out))
                    observer.pool_seen(pool.checked_out)

    thread = threading.Thread(target=loop, name="leakbench-ticker", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=2)


def observe_row(
    *,
    config: RunConfig,
    spec: RowSpec,
    target: TargetHandle,
    poller: ActivityPoller,
    progress: LoadProgress,
    observer: RunObserver,
    drive: LoadStep = run_load,
) -> RowResult:
    """Measure and judge one row on a target that is up, loaded by ``drive``.

    With --login, the target is logged in to first and its token sent on every request.
    """
    headers = request_headers(config.requests, target.base_url, config.load.request_timeout)
    if config.requests.login is not None:
        _await_login_quiet(poller)
    poller.restart_clock()
    baseline = poller.snapshot(Phase.BASELINE)
    if baseline is None:
        raise TargetError("pg_stat_activity could not be read before the load started.")
    ends_before = poller.session_ends()
    started_before = poller.server_started_at()
    pool_before = target.pool_stats()
    first = spec.workload.routes[0]
    target.mark_checkouts()
    transactions_before = poller.transactions()
    sessions_before = poller.sessions()
    row_started = poller.server_now()
    plan = LoadPlan(
        base_url=target.base_url,
        endpoint=Endpoint(first.method, first.path),
        concurrency=config.load.concurrency,
        duration=config.load.time_limit,
        requests=config.load.requests,
        request_timeout=config.load.request_timeout,
        body=config.load.body_for(Endpoint(first.method, first.path)),
        rate=config.load.rate,
        # A route without a body of its own gets --body, or the default for its method.
        routes=_with_bodies(config, spec.workload.routes),
        headers=headers,
        content_type=config.requests.content_type,
    )
    readings: list[PoolReading] = []
    with _ticker(observer, progress, poller, target, readings):
        poller.phase = Phase.LOAD
        observer.phase_changed(Phase.LOAD, config.load.duration)
        outcome = drive(plan, progress)
        shutdown.check()  # a Ctrl-C the event loop swallowed still stops the run here
        poller.phase = Phase.SETTLE
        observer.phase_changed(Phase.SETTLE, config.verdict.settle)
        settled, settle_seconds = _settle(config, poller, baseline, target, pool_before)
    load, external = (outcome, None) if isinstance(outcome, LoadStats) else (None, outcome)
    if not target.alive():
        return RowResult(
            spec.name,
            spec.workload.label,
            Verdict.FAILED,
            load,
            None,
            poller.samples(),
            error=f"The target exited with code {target.exit_code()} during the row; "
            f"its log ends: {target.log_tail()}",
            external=external,
        )
    observer.phase_changed(Phase.FINAL, None)
    # The database is read before the target is touched: talking to the probe
    # allocates objects and could trigger the very collection that hides a leak.
    final = _final_snapshot(poller, baseline, settled=settled)
    if final is None:
        return RowResult(
            spec.name,
            spec.workload.label,
            Verdict.INCONCLUSIVE,
            load,
            None,
            poller.samples(),
            error="pg_stat_activity could not be read after the settle, so the row cannot be "
            "judged; check that the server is up and accepts connections.",
            external=external,
        )
    started_after = poller.server_started_at()
    ends = _since(ends_before, poller.session_ends())
    pool = target.pool_stats()
    if pool is not None and pool_before is not None and analysis.residue(final, baseline) == 0:
        # PostgreSQL is quiet: a checkout now may be the app's own background work (a
        # periodic job) holding a connection outside a transaction; a leak stays.
        pool = _pool_once_quiet(target, pool, pool_before, _QUIET_LOOK_SECONDS)
    transactions = _since_count(transactions_before, poller.transactions())
    new_sessions = _since_count(sessions_before, poller.sessions())
    connections_used = poller.ran_since(row_started) if row_started is not None else None
    pool_view = (
        analysis.PoolView(baseline=pool_before, after_settle=pool)
        if pool_before is not None and pool is not None
        else None
    )
    idle_limit = spec.idle_limit(pool)
    pool_view, sites, after_gc = _collect_and_look(
        spec=spec,
        target=target,
        poller=poller,
        baseline=baseline,
        final=final,
        pool_view=pool_view,
        idle_limit=idle_limit,
    )
    samples = poller.samples()
    observed_seconds = samples[-1].t if samples else 0.0
    findings = analysis.judge(
        analysis.Observation(
            baseline=baseline,
            during=tuple(s for s in samples if s.phase in (Phase.LOAD, Phase.SETTLE)),
            after_settle=final,
            settled=settled,
            settle_seconds=settle_seconds,
            completed_requests=_completed(load, external),
            exercised_requests=load.exercised if load is not None else -1,
            after_gc=after_gc,
            sample_gaps=poller.gaps,
            expected_samples=int(observed_seconds / config.poll_interval),
            session_ends=ends,
            server_restarted=None not in (started_before, started_after)
            and started_before != started_after,
            capacity=capacity.assess(
                workers=spec.workers,
                per_worker=spec.per_worker_capacity,
                max_connections=spec.max_connections,
                pool_before=pool_before,
                pool_after=pool,
                request_timeouts=load.timeouts if load is not None else 0,
            ),
            pool=pool_view,
            database_transactions=transactions,
            connections_used=connections_used,
            new_sessions=new_sessions,
            idle_limit=idle_limit,
            leak_sites=sites,
        ),
        capacity=spec.pool_limit,
        max_idle_in_transaction=config.verdict.max_idle_in_transaction,
    )
    return RowResult(
        pattern=spec.name,
        endpoint=spec.workload.label,
        verdict=findings.verdict,
        load=load,
        findings=findings,
        samples=samples,
        pool_after_settle=pool,
        pool_baseline=pool_before,
        pool_after_gc=pool_view.after_gc if pool_view is not None else None,
        external=external,
        pool_readings=tuple(readings),
    )


def _with_bodies(config: RunConfig, routes: tuple[Route, ...]) -> tuple[Route, ...]:
    """A route without a body of its own gets --body, or the default for its method."""
    return tuple(
        route
        if route.body is not None
        else dataclasses.replace(
            route, body=config.load.body_for(Endpoint(route.method, route.path))
        )
        for route in routes
    )


def _await_login_quiet(poller: ActivityPoller) -> None:
    """Let the login's own transaction end before the baseline, so it is not counted in it.

    FastAPI may close a request's session after the answer is sent; the login
    answer can thus arrive while its connection is still in a transaction.
    """
    deadline = time.monotonic() + _LOGIN_QUIET_SECONDS
    while time.monotonic() < deadline:
        sample = poller.snapshot(Phase.BASELINE)
        if sample is not None and sample.active == 0 and sample.in_transaction == 0:
            return
        time.sleep(poller.interval)


def _completed(load: LoadStats | None, external: ExternalLoad | None) -> int:
    """Requests completed, or -1 when the tool that sent them does not say."""
    if load is not None:
        return load.completed
    if external is not None and external.requests is not None:
        return external.requests
    return -1


def _final_snapshot(
    poller: ActivityPoller, baseline: ActivitySample, *, settled: bool
) -> ActivitySample | None:
    """The after-settle snapshot, retried briefly: a lost sample here cannot be guessed.

    When the settle ran out of time, the app may only be busy with work of its
    own (a periodic job holding a short transaction half of the time never
    leaves a quiet second). A leak persists at every look, so looks go on for
    a while after the settle and the first quiet one, if any, is the snapshot.
    """
    sample = None
    for _attempt in range(_FINAL_ATTEMPTS):
        sample = poller.snapshot(Phase.FINAL)
        if sample is not None:
            break
        time.sleep(poller.interval)
    if sample is None or settled:
        return sample
    deadline = time.monotonic() + _QUIET_LOOK_SECONDS
    while analysis.residue(sample, baseline) and time.monotonic() < deadline:
        time.sleep(_POOL_READ_SECONDS)
        sample = poller.snapshot(Phase.FINAL) or sample
    return sample


def _since(before: SessionEnds | None, after: SessionEnds | None) -> SessionEnds | None:
    if before is None or after is None:
        return None
    return SessionEnds(
        fatal=after.fatal - before.fatal,
        killed=after.killed - before.killed,
        abandoned=after.abandoned - before.abandoned,
    )


def _collect_and_look(
    *,
    spec: RowSpec,
    target: TargetHandle,
    poller: ActivityPoller,
    baseline: ActivitySample,
    final: ActivitySample,
    pool_view: analysis.PoolView | None,
    idle_limit: int | None,
) -> tuple[analysis.PoolView | None, tuple[CheckoutSite, ...], ActivitySample | None]:
    """When anything is left, where it was taken, then a forced collection and a look at both.

    Returns the pool view with its after-collection side, the leak sites and the
    after-collection snapshot (None when nothing was left or no collection answered).
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
        return pool_view, sites, None
    time.sleep(_AFTER_GC_PAUSE)
    after_gc = poller.snapshot(Phase.AFTER_GC)
    if pool_view is not None:
        # The very checkouts still out, not a count a queued request could refill.
        survivors = len(held & target.outstanding_checkouts()) if held else None
        pool_view = analysis.PoolView(
            pool_view.baseline, pool_view.after_settle, target.pool_stats(), survivors
        )
    return pool_view, sites, after_gc


def _pool_once_quiet(
    target: TargetHandle, pool: PoolStats, baseline: PoolStats, within: float
) -> PoolStats:
    deadline = time.monotonic() + within
    while pool.checked_out > baseline.checked_out and time.monotonic() < deadline:
        time.sleep(_POOL_READ_SECONDS)
        pool = target.pool_stats() or pool
    return pool


def _since_count(before: int | None, after: int | None) -> int | None:
    if before is None or after is None:
        return None
    return max(0, after - before)


def _settle(
    config: RunConfig,
    poller: ActivityPoller,
    baseline: ActivitySample,
    target: TargetHandle,
    pool_before: PoolStats | None,
) -> tuple[bool, float]:
    """Wait until the target is quiet for the quiet period, or the settle time is up.

    Quiet means PostgreSQL's view back at the baseline and then, when a probe
    answers, the pool's checked-out count too: a request still running in
    the target (its client gave up) may hold a connection idle to PostgreSQL.
    The pool is read only once PostgreSQL is quiet, so a leak whose
    transactions stay open is never disturbed by the reads.
    """
    started = time.monotonic()
    deadline = started + config.verdict.settle
    next_pool_read = started
    while time.monotonic() < deadline:
        shutdown.check()
        settling = [s for s in poller.samples() if s.phase is Phase.SETTLE]
        if analysis.settle_reached(settling, baseline, config.verdict.quiet_period):
            if pool_before is None:
                return True, round(time.monotonic() - started, 2)
            if time.monotonic() >= next_pool_read:
                next_pool_read = time.monotonic() + _POOL_READ_SECONDS
                pool = target.pool_stats()
                if pool is None or pool.checked_out <= pool_before.checked_out:
                    return True, round(time.monotonic() - started, 2)
        time.sleep(config.poll_interval)
    return False, round(time.monotonic() - started, 2)
