"""The verdict rule, on hand-made samples: transient is not a leak, persistent is."""

from __future__ import annotations

import dataclasses

from leakbench._results import ActivitySample, BackendDetail, LeakKind, Phase, Verdict
from leakbench._verdict.analysis import Observation, classify_leak, judge, settle_reached


def sample(t: float, phase: Phase = Phase.LOAD, **counts: int) -> ActivitySample:
    return ActivitySample(t=t, phase=phase, **counts)


BASELINE = sample(0.0, Phase.BASELINE, idle=1)


def observe(
    final: ActivitySample, during: tuple[ActivitySample, ...] = (), **kw: object
) -> Observation:
    return Observation(
        baseline=BASELINE,
        during=during,
        after_settle=final,
        settled=True,
        settle_seconds=1.0,
        completed_requests=kw.pop("completed", 100),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


def test_transient_idle_in_transaction_during_load_is_clean() -> None:
    during = (sample(0.1, idle_in_transaction=9, active=3, idle=0), sample(0.2, idle=2))
    findings = judge(observe(sample(2.0, Phase.FINAL, idle=2), during), capacity=12)
    assert findings.verdict is Verdict.CLEAN
    assert findings.peak_idle_in_transaction == 9
    assert "transient" in findings.reasons[0]


def test_idle_in_transaction_after_settle_is_leaked() -> None:
    findings = judge(observe(sample(5.0, Phase.FINAL, idle_in_transaction=3, idle=1)), capacity=12)
    assert findings.verdict is Verdict.LEAKED
    assert findings.leaked_connections == 3
    assert "3 connection(s) were still idle in transaction" in findings.reasons[0]


def test_tolerance_lets_a_set_number_of_idle_in_transaction_pass() -> None:
    final = sample(5.0, Phase.FINAL, idle_in_transaction=1, idle=1)
    assert judge(observe(final), capacity=12, max_idle_in_transaction=1).verdict is Verdict.CLEAN
    assert judge(observe(final), capacity=12, max_idle_in_transaction=0).verdict is Verdict.LEAKED


def test_more_connections_than_the_pool_allows_after_the_settle_is_leaked() -> None:
    findings = judge(observe(sample(2.0, Phase.FINAL, idle=20)), capacity=12)
    assert findings.verdict is Verdict.LEAKED
    assert "still held 20 connections after the settle" in findings.reasons[0]
    assert "more than its pools allow (12)" in findings.reasons[0]


def test_a_peak_above_the_pool_during_load_alone_is_transient() -> None:
    # Short-lived connections opened outside the pool (raw psycopg, per request).
    during = (sample(0.1, idle=20),)
    findings = judge(observe(sample(2.0, Phase.FINAL, idle=1), during), capacity=12)
    assert findings.verdict is Verdict.CLEAN
    assert findings.peak_total_connections == 20


def test_unknown_capacity_skips_the_pool_check() -> None:
    during = (sample(0.1, idle=20),)
    assert (
        judge(observe(sample(2.0, Phase.FINAL, idle=1), during), capacity=None).verdict
        is Verdict.CLEAN
    )


def test_patchy_sampling_is_inconclusive_not_clean() -> None:
    obs = observe(sample(2.0, Phase.FINAL, idle=1), sample_gaps=10, expected_samples=20)
    assert judge(obs, capacity=12).verdict is Verdict.INCONCLUSIVE


def test_only_client_errors_is_inconclusive() -> None:
    obs = observe(sample(2.0, Phase.FINAL, idle=1), exercised_requests=0)
    findings = judge(obs, capacity=12)
    assert findings.verdict is Verdict.INCONCLUSIVE
    assert "4xx" in findings.reasons[0]


def test_a_leak_that_survives_collection_is_held_by_reference() -> None:
    final = sample(5.0, Phase.FINAL, idle_in_transaction=2)
    assert classify_leak(BASELINE, final, sample(5.5, Phase.AFTER_GC, idle_in_transaction=2)) is (
        LeakKind.HELD_BY_REFERENCE
    )
    assert (
        classify_leak(BASELINE, final, sample(5.5, Phase.AFTER_GC, idle=2)) is LeakKind.AWAITING_GC
    )
    assert classify_leak(BASELINE, final, None) is LeakKind.UNKNOWN
    assert classify_leak(BASELINE, sample(5.0, Phase.FINAL, idle=1), None) is LeakKind.NONE


def test_settle_needs_a_quiet_run_as_long_as_the_quiet_period() -> None:
    busy = sample(0.0, Phase.SETTLE, active=2)
    quiet = [sample(t, Phase.SETTLE, idle=1) for t in (0.5, 1.0, 1.4)]
    assert not settle_reached([busy, *quiet], BASELINE, quiet_period=1.0)
    assert settle_reached([busy, *quiet, sample(1.6, Phase.SETTLE, idle=1)], BASELINE, 1.0)
    assert not settle_reached([], BASELINE, 1.0)


def test_a_collection_that_frees_the_leaked_transactions_is_awaiting_gc_despite_a_refill() -> None:
    # Requests queued for the pool take the freed connections and open new transactions.
    def with_transactions(s: ActivitySample, *names: str) -> ActivitySample:
        return dataclasses.replace(s, detail=BackendDetail(open_transactions=names))

    final = with_transactions(sample(5.0, Phase.FINAL, idle_in_transaction=2), "7:1.0", "8:1.0")
    refilled = sample(5.5, Phase.AFTER_GC, idle_in_transaction=2)
    assert classify_leak(BASELINE, final, with_transactions(refilled, "7:5.4", "8:5.4")) is (
        LeakKind.AWAITING_GC
    )
    assert classify_leak(BASELINE, final, with_transactions(refilled, "7:1.0", "8:5.4")) is (
        LeakKind.HELD_BY_REFERENCE
    )
