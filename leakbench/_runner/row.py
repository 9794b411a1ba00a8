"""Measuring one row, the same way whether leakbench started the target or attached to it.

A row: take a baseline of the target's connections, of the database's
transaction count (and of its pool, when a probe answers), drive the load
while sampling, let the target settle (PostgreSQL quiet, and the pool back
to its baseline), read the database (the after-settle snapshot, with the
oldest transaction and wait events, the sessions PostgreSQL ended and the
transactions it counted), and only then touch the target: read its pool and
where its connections still checked out were taken, force a garbage
collection, and look once more, at both. The judgement is made by the pure
functions of :mod:`leakbench._verdict.analysis`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator

from leakbench._load.driver import LoadPlan, LoadProgress, run_load
from leakbench._progress.events import RunObserver
from leakbench._results import (
    ActivitySample,
    ExternalLoad,
    LoadStats,
    Phase,
    PoolReading,
    PoolStats,
    RowResult,
)
from leakbench._runner import phases
from leakbench._runner.phases import Baseline, LoadStep, Poller, SecondLook
from leakbench._settings import Endpoint, RunConfig
from leakbench._settings.requests import Route
from leakbench._targets.handle import RowSpec, TargetHandle
from leakbench._targets.login import request_headers
from leakbench._verdict import analysis, capacity
from leakbench._verdict import rows as verdict_rows

__all__ = ["LoadStep", "observe_row"]

_TICK_SECONDS = 0.25


@contextlib.contextmanager
def _ticker(
    observer: RunObserver,
    progress: LoadProgress,
    poller: Poller,
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
    poller: Poller,
    progress: LoadProgress,
    observer: RunObserver,
    drive: LoadStep = run_load,
) -> RowResult:
    """Measure and judge one row on a target that is up, loaded by ``drive``.

    With --login, the target is logged in to first and its token sent on every request.
    """
    headers = request_headers(config.requests, target.base_url, config.load.request_timeout)
    if config.requests.login is not None:
        phases.await_login_quiet(poller)
    baseline = phases.take_baseline(poller, target)
    plan = _load_plan(config, spec, target.base_url, headers)
    readings: list[PoolReading] = []
    with _ticker(observer, progress, poller, target, readings):
        outcome = phases.load(
            poller, observer, drive, plan, progress, duration=config.load.duration
        )
        still_running = _handlers_still_running(outcome, target, baseline.pool)
        poller.phase = Phase.SETTLE
        observer.phase_changed(Phase.SETTLE, config.verdict.settle)
        settled, settle_seconds = phases.settle(
            poller,
            target,
            baseline,
            settle_seconds=config.verdict.settle,
            quiet_period=config.verdict.quiet_period,
            poll_interval=config.poll_interval,
        )
    load, external = (outcome, None) if isinstance(outcome, LoadStats) else (None, outcome)
    if not target.alive():
        return verdict_rows.target_exited(
            verdict_rows.Unjudged(spec.name, spec.workload.label, load, poller.samples(), external),
            target.exit_code(),
            target.log_tail(),
        )
    observer.phase_changed(Phase.FINAL, None)
    look = phases.second_look(poller, target, baseline, settled=settled)
    if look is None:
        return verdict_rows.unreadable_after_settle(
            verdict_rows.Unjudged(spec.name, spec.workload.label, load, poller.samples(), external)
        )
    pool_view = (
        analysis.PoolView(baseline=baseline.pool, after_settle=look.pool)
        if baseline.pool is not None and look.pool is not None
        else None
    )
    idle_limit = spec.idle_limit(look.pool)
    collection = phases.collect_and_look(
        spec=spec,
        target=target,
        poller=poller,
        baseline=baseline.sample,
        final=look.final,
        pool_view=pool_view,
        idle_limit=idle_limit,
    )
    samples = poller.samples()
    observation = _observation(
        config,
        spec,
        _Samples(samples, poller.gaps),
        baseline,
        look,
        collection,
        _Load(load, external, settled, settle_seconds),
    )
    findings = analysis.judge(
        observation,
        capacity=spec.pool_limit,
        max_idle_in_transaction=config.verdict.max_idle_in_transaction,
    )
    pool_view = collection.pool_view
    return RowResult(
        target=spec.name,
        endpoint=spec.workload.label,
        verdict=findings.verdict,
        load=load,
        findings=findings,
        samples=samples,
        pool_after_settle=look.pool,
        pool_baseline=baseline.pool,
        pool_after_gc=pool_view.after_gc if pool_view is not None else None,
        external=external,
        pool_readings=tuple(readings),
        drivers=look.drivers,
        handlers_after_load=still_running,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _Load:
    """The load phase's outcome and the settle's."""

    stats: LoadStats | None
    external: ExternalLoad | None
    settled: bool
    settle_seconds: float


@dataclasses.dataclass(frozen=True, slots=True)
class _Samples:
    """The row's samples, taken once after the last look, and the ones lost."""

    samples: tuple[ActivitySample, ...]
    gaps: int


def _observation(  # noqa: PLR0917 - one argument per phase, each named at the call
    config: RunConfig,
    spec: RowSpec,
    taken: _Samples,
    baseline: Baseline,
    look: SecondLook,
    collection: phases.Collection,
    load: _Load,
) -> analysis.Observation:
    """Every phase's figures, as the analysis takes them."""
    samples = taken.samples
    observed_seconds = samples[-1].t if samples else 0.0
    stats = load.stats
    return analysis.Observation(
        baseline=baseline.sample,
        during=tuple(s for s in samples if s.phase in (Phase.LOAD, Phase.SETTLE)),
        after_settle=look.final,
        settled=load.settled,
        settle_seconds=load.settle_seconds,
        completed_requests=phases.completed_requests(stats, load.external),
        exercised_requests=_exercised(stats),
        after_gc=collection.after_gc,
        sample_gaps=taken.gaps,
        expected_samples=int(observed_seconds / config.poll_interval),
        session_ends=look.session_ends,
        server_restarted=look.server_restarted,
        capacity=capacity.assess(
            workers=spec.workers,
            per_worker=spec.per_worker_capacity,
            max_connections=spec.max_connections,
            pool_before=baseline.pool,
            pool_after=look.pool,
            request_timeouts=stats.timeouts if stats is not None else 0,
        ),
        pool=collection.pool_view,
        database_transactions=look.transactions,
        connections_used=look.connections_used,
        new_sessions=look.new_sessions,
        idle_limit=spec.idle_limit(look.pool),
        leak_sites=collection.sites,
        in_flight_sites=collection.in_flight,
        reclaims=look.reclaims,
        made_engines=look.made_engines,
        failed_requests=stats.transport_errors + stats.timeouts + stats.disconnects if stats else 0,
        timed_out_requests=stats.timeouts if stats is not None else 0,
        server_errors=stats.server_errors if stats is not None else 0,
    )


def _load_plan(
    config: RunConfig, spec: RowSpec, base_url: str, headers: tuple[tuple[str, str], ...]
) -> LoadPlan:
    first = spec.workload.routes[0]
    return LoadPlan(
        base_url=base_url,
        endpoint=Endpoint(first.method, first.path),
        concurrency=config.load.concurrency,
        duration=config.load.time_limit,
        requests=config.load.requests,
        request_timeout=config.load.request_timeout,
        body=config.load.body_for(Endpoint(first.method, first.path)),
        rate=config.load.rate,
        client=config.load.client,
        websocket=config.load.websocket,
        # A route without a body of its own gets --body, or the default for its method.
        routes=_with_bodies(config, spec.workload.routes),
        headers=headers,
        content_type=config.requests.content_type,
    )


def _handlers_still_running(
    outcome: LoadStats | ExternalLoad, target: TargetHandle, pool_before: PoolStats | None
) -> int | None:
    """When clients left early, the connections handlers still held as the load ended.

    A handler goes on after its client left (until Starlette cancels it, if it
    ever does); the settle waits for them through the pool's view. One read,
    as the live view's reads during the load: the settle has not begun.
    """
    if not isinstance(outcome, LoadStats) or not outcome.left or pool_before is None:
        return None
    pool = target.pool_stats()
    if pool is None or not pool.seen:  # no SQLAlchemy pool: whether handlers run is unknown
        return None
    return max(0, pool.checked_out - pool_before.checked_out)


def _exercised(load: LoadStats | None) -> int:
    """Answers that reached the handler; -1 when unknown.

    Requests whose client left have no status kept (an abort, a stream left part
    way): when no answer came back at all, whether handlers ran is unknown, and
    the database's own evidence decides, never "every response was a 4xx".
    """
    if load is None or (load.exercised == 0 and load.left):
        return -1
    return load.exercised


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
