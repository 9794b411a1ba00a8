"""A target with no SQLAlchemy pool (psycopg_pool's own, say): the probe answers as soon as
SQLAlchemy is importable, so its zero counts must vouch for nothing.

Measured on scenarios/cancelled_pool_wait.py with psycopg_pool 3.1.6 (docs/leaks.md): the pool
had lost all its connections, and the report said every connection was back "by PostgreSQL's
count and the pool's".
"""

from __future__ import annotations

import dataclasses

from leakbench._output.notes import vantage_notes
from leakbench._results import ActivitySample, Capacity, Phase, PoolStats, Verdict
from leakbench._verdict.analysis import Observation, PoolView, judge
from tests.consistency import contradictions
from tests.factories import row


def observe(pool: PoolStats) -> Observation:
    return Observation(
        baseline=ActivitySample(t=0.0, phase=Phase.BASELINE, idle=2),
        during=(ActivitySample(t=0.5, phase=Phase.LOAD, idle=12),),
        after_settle=ActivitySample(t=1.0, phase=Phase.FINAL, idle=2),
        settled=True,
        settle_seconds=1.0,
        completed_requests=40,
        exercised_requests=40,
        pool=PoolView(baseline=pool, after_settle=pool),
        capacity=Capacity(workers=1, per_worker=12, max_connections=100, request_timeouts=20),
        # PostgreSQL's evidence that the requests reached it (the pool's is none here).
        connections_used=9,
        new_sessions=39,
    )


def capacity_reason(findings_reasons: tuple[str, ...]) -> str:
    (reason,) = [r for r in findings_reasons if r.startswith("Capacity finding")]
    return reason


def test_a_probe_that_saw_no_pool_does_not_vouch_for_one() -> None:
    findings = judge(observe(PoolStats()), capacity=12)  # SQLAlchemy importable, no pool ever made

    assert findings.verdict is Verdict.CLEAN
    assert contradictions(findings) == []
    reason = capacity_reason(findings.reasons)
    assert "the pool's count is unknown" in reason
    assert "by PostgreSQL's count and the pool's" not in reason


def test_a_probe_that_saw_a_pool_still_vouches_with_it() -> None:
    findings = judge(observe(PoolStats(checkouts=5, checkins=5, pools_made=1)), capacity=12)

    assert "by PostgreSQL's count and the pool's" in capacity_reason(findings.reasons)


def test_the_notes_say_the_pool_is_not_visible_rather_than_zero_checked_out() -> None:
    findings = judge(observe(PoolStats()), capacity=12)
    measured = dataclasses.replace(
        row(), findings=findings, pool_baseline=PoolStats(), pool_after_settle=PoolStats()
    )
    seen = dataclasses.replace(measured, pool_after_settle=PoolStats(pools_made=1))

    assert "no SQLAlchemy or psycopg_pool pool in the target" in " ".join(vantage_notes(measured))
    assert "the pool still has 0 checked out" in " ".join(vantage_notes(seen))
