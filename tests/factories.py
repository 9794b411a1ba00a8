"""Hand-made result values for tests of pure code (rendering, reports, thresholds)."""

from __future__ import annotations

import dataclasses

from leakbench._results import (
    ActivitySample,
    Capacity,
    Findings,
    LatencySummary,
    LeakKind,
    LoadStats,
    Phase,
    PoolStats,
    RowResult,
    RunResult,
    RunSettings,
    Verdict,
    Versions,
)


def run_settings(**changes: object) -> RunSettings:
    """Settings as a small test run would record them; override any field by name."""
    settings = RunSettings(
        database="embedded",
        embedded_database=True,
        concurrency=10,
        duration_seconds=1.0,
        requests_per_row=None,
        request_timeout_seconds=10.0,
        pool_size=2,
        max_overflow=10,
        pool_timeout_seconds=30.0,
        workers=1,
        settle_seconds=1.0,
        quiet_period_seconds=1.0,
        max_idle_in_transaction=0,
        poll_interval_seconds=0.1,
    )
    return dataclasses.replace(settings, **changes)  # type: ignore[arg-type]


def run_result(*rows: RowResult, **setting_changes: object) -> RunResult:
    """A run holding ``rows``, with placeholder versions."""
    return RunResult(
        rows=rows, versions=Versions(*("1",) * 9), settings=run_settings(**setting_changes)
    )


def load_stats(
    completed: int = 5_655, *, errors: int = 0, seconds: float = 8.0, p95: float = 584.1
) -> LoadStats:
    """What the driver saw: ``completed`` answers (all 200 but the transport errors)."""
    return LoadStats(
        sent=completed,
        status_counts=((200, completed - errors),),
        transport_errors=errors,
        timeouts=0,
        elapsed_seconds=seconds,
        latency=LatencySummary(p50=p95 / 3, p95=p95, p99=p95 * 1.2, max=p95 * 2, mean=p95 / 2),
        concurrency=300,
    )


def sample(t: float, phase: Phase, *, in_transaction: int = 0, idle: int = 2) -> ActivitySample:
    return ActivitySample(t=t, phase=phase, idle=idle, idle_in_transaction=in_transaction)


def row(
    pattern: str = "with-session",
    endpoint: str = "/ok",
    verdict: Verdict = Verdict.CLEAN,
    *,
    completed: int = 5_655,
    errors: int = 0,
    peak: int = 9,
    after: int = 0,
    total: int = 2,
    reasons: tuple[str, ...] = (),
    capacity: Capacity | None = None,
    pool_capacity: int | None = 12,
    per_worker: int | None = None,
    p95: float = 584.1,
) -> RowResult:
    """A measured row: its load, a rise and fall (or stay) of idle in transaction, its verdict.

    ``pool_capacity`` is what the probe read from the target's pools; ``per_worker``
    what the capacity figures hold (leakbench's settings for a scenario), by
    default the probe's reading, as for an app.
    """
    if capacity is None:
        capacity = Capacity(
            workers=1,
            per_worker=per_worker if per_worker is not None else pool_capacity,
            max_connections=100,
        )
    curve = [0, peak // 2, peak, peak, peak // 2, after, after]
    samples = tuple(
        sample(i / 2, Phase.LOAD if i < 5 else Phase.SETTLE, in_transaction=n)
        for i, n in enumerate(curve)
    )
    baseline = sample(0.0, Phase.BASELINE)
    final = sample(4.0, Phase.FINAL, in_transaction=after, idle=total - after)
    findings = Findings(
        verdict=verdict,
        reasons=reasons,
        baseline=baseline,
        after_settle=final,
        peak_idle_in_transaction=peak,
        peak_active=peak,
        peak_total_connections=max(total, peak + 2),
        peak_oldest_transaction_seconds=0.4,
        settled=verdict is Verdict.CLEAN,
        settle_seconds=1.0,
        leaked_connections=after,
        leak_kind=LeakKind.HELD_BY_REFERENCE if verdict is Verdict.LEAKED else LeakKind.NONE,
        capacity=capacity,
    )
    pool = PoolStats(connects=total, checkouts=100, checkins=100 - after, capacity=pool_capacity)
    return RowResult(
        pattern,
        endpoint,
        verdict,
        load_stats(completed, errors=errors, p95=p95),
        findings,
        (baseline, *samples, final),
        pool_after_settle=pool,
        pool_baseline=PoolStats(connects=1, capacity=pool_capacity),
    )


def failed_row(pattern: str = "broken", endpoint: str = "/ok", error: str = "") -> RowResult:
    """A row whose target never answered: no load, no findings."""
    text = error or "The target did not answer within 30 s; its log ends: ImportError: no app"
    return RowResult(pattern, endpoint, Verdict.FAILED, None, None, error=text, start_failed=True)
