"""Measuring one row, the same way whether leakbench started the target or attached to it.

A row: take a baseline of the target's connections (and of its pool, when a
probe answers), drive the load while sampling, let the target settle, read
the database (the after-settle snapshot, with the oldest transaction and
wait events, and the sessions PostgreSQL ended), and only then touch the
target: read its pool and force a garbage collection, and look once more.
The judgement is made by the pure functions of :mod:`leakbench.verdict.analysis`.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from leakbench.config import Endpoint, RunConfig
from leakbench.errors import TargetError
from leakbench.load.driver import LoadPlan, LoadProgress, run_load
from leakbench.postgres import admin
from leakbench.postgres.poller import ActivityPoller
from leakbench.progress.events import RunObserver
from leakbench.results import (
    ActivitySample,
    ExternalLoad,
    LoadStats,
    Phase,
    PoolStats,
    RowResult,
    SessionEnds,
    Verdict,
)
from leakbench.system import shutdown
from leakbench.verdict import analysis, capacity

# How the poller's own connection shows in pg_stat_activity (it is never counted).
POLLER_APPLICATION_NAME = "leakbench-poller"
_TICK_SECONDS = 0.25
# After a forced collection, finalizers return connections to the pool at once;
# this pause lets the server see the ROLLBACK that follows.
_AFTER_GC_PAUSE = 0.3
# Tries at the after-settle snapshot, one poll interval apart, before giving up.
_FINAL_ATTEMPTS = 20


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


@dataclass(frozen=True, slots=True)
class RowSpec:
    """One row: the target's name, the route, and the connection limits known for it."""

    name: str
    endpoint: Endpoint
    workers: int = 1
    # pool_size + max_overflow of one worker when leakbench set them (scenarios).
    per_worker_capacity: int | None = None
    max_connections: int | None = None

    @property
    def pool_limit(self) -> int | None:
        """The most connections the target's pools may hold together, when known."""
        if self.per_worker_capacity is None:
            return None
        return self.workers * self.per_worker_capacity


@contextlib.contextmanager
def activity_poller(
    admin_dsn: str, database: str, interval: float, application_name: str | None = None
) -> Iterator[ActivityPoller]:
    """A running poller of ``database`` (optionally one application_name) on its own connection."""
    poller = ActivityPoller(
        lambda: admin.connect(admin_dsn, application_name=POLLER_APPLICATION_NAME),
        database,
        interval,
        application_name=application_name,
    )
    with poller:
        yield poller


@contextlib.contextmanager
def _ticker(
    observer: RunObserver, progress: LoadProgress, poller: ActivityPoller, target: TargetHandle
) -> Iterator[None]:
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
    """Measure and judge one row on a target that is up, loaded by ``drive``."""
    poller.restart_clock()
    baseline = poller.snapshot(Phase.BASELINE)
    if baseline is None:
        raise TargetError("pg_stat_activity could not be read before the load started.")
    ends_before = poller.session_ends()
    started_before = poller.server_started_at()
    pool_before = target.pool_stats()
    plan = LoadPlan(
        base_url=target.base_url,
        endpoint=spec.endpoint,
        concurrency=config.load.concurrency,
        duration=config.load.time_limit,
        requests=config.load.requests,
        request_timeout=config.load.request_timeout,
        body=config.load.body_for(spec.endpoint),
        rate=config.load.rate,
    )
    with _ticker(observer, progress, poller, target):
        poller.phase = Phase.LOAD
        observer.phase_changed(Phase.LOAD, config.load.duration)
        outcome = drive(plan, progress)
        shutdown.check()  # a Ctrl-C the event loop swallowed still stops the run here
        poller.phase = Phase.SETTLE
        observer.phase_changed(Phase.SETTLE, config.verdict.settle)
        settled, settle_seconds = _settle(config, poller, baseline)
    load, external = (outcome, None) if isinstance(outcome, LoadStats) else (None, outcome)
    if not target.alive():
        return RowResult(
            spec.name,
            spec.endpoint.label,
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
    final = _final_snapshot(poller)
    if final is None:
        return RowResult(
            spec.name,
            spec.endpoint.label,
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
    after_gc = None
    if analysis.residue(final, baseline) and target.force_gc():
        time.sleep(_AFTER_GC_PAUSE)
        after_gc = poller.snapshot(Phase.AFTER_GC)
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
        ),
        capacity=spec.pool_limit,
        max_idle_in_transaction=config.verdict.max_idle_in_transaction,
    )
    return RowResult(
        pattern=spec.name,
        endpoint=spec.endpoint.label,
        verdict=findings.verdict,
        load=load,
        findings=findings,
        samples=samples,
        pool_after_settle=pool,
        pool_baseline=pool_before,
        external=external,
    )


def _completed(load: LoadStats | None, external: ExternalLoad | None) -> int:
    """Requests completed, or -1 when the tool that sent them does not say."""
    if load is not None:
        return load.completed
    if external is not None and external.requests is not None:
        return external.requests
    return -1


def _final_snapshot(poller: ActivityPoller) -> ActivitySample | None:
    """The after-settle snapshot, retried briefly: a lost sample here cannot be guessed."""
    for _attempt in range(_FINAL_ATTEMPTS):
        sample = poller.snapshot(Phase.FINAL)
        if sample is not None:
            return sample
        time.sleep(poller.interval)
    return None


def _since(before: SessionEnds | None, after: SessionEnds | None) -> SessionEnds | None:
    if before is None or after is None:
        return None
    return SessionEnds(
        fatal=after.fatal - before.fatal,
        killed=after.killed - before.killed,
        abandoned=after.abandoned - before.abandoned,
    )


def _settle(
    config: RunConfig, poller: ActivityPoller, baseline: ActivitySample
) -> tuple[bool, float]:
    """Wait until the target is quiet for the quiet period, or the settle time is up."""
    started = time.monotonic()
    deadline = started + config.verdict.settle
    while time.monotonic() < deadline:
        shutdown.check()
        settling = [s for s in poller.samples() if s.phase is Phase.SETTLE]
        if analysis.settle_reached(settling, baseline, config.verdict.quiet_period):
            return True, round(time.monotonic() - started, 2)
        time.sleep(config.poll_interval)
    return False, round(time.monotonic() - started, 2)
