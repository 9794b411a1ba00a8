"""The verdict, its leak kind and its reasons never contradict each other, and both
vantage points decide: a property test over the pure analysis, on any observation.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from leakbench._results import (
    ActivitySample,
    Capacity,
    CheckoutSite,
    LeakKind,
    MadeEngines,
    Phase,
    PoolStats,
    Reclaims,
    SessionEnds,
    Verdict,
)
from leakbench._verdict.analysis import Observation, PoolView, judge, residue
from tests.consistency import contradictions

counts = st.integers(min_value=0, max_value=15)


@st.composite
def samples(draw: st.DrawFn, phase: Phase) -> ActivitySample:
    return ActivitySample(
        t=0.0,
        phase=phase,
        active=draw(st.integers(0, 3)),
        idle=draw(counts),
        idle_in_transaction=draw(st.integers(0, 6)),
        idle_in_transaction_aborted=draw(st.integers(0, 1)),
    )


@st.composite
def pools(draw: st.DrawFn) -> PoolView:
    def stats(checkouts: int, checked_out: int) -> PoolStats:
        return PoolStats(checkouts=checkouts, checkins=checkouts - checked_out, capacity=12)

    base_out, base_checkouts = draw(st.integers(0, 2)), draw(st.integers(2, 5))
    checkouts = base_checkouts + draw(st.integers(0, 500))
    after_out = draw(st.integers(0, 12))
    gc_out = draw(st.none() | st.integers(0, after_out))
    return PoolView(
        baseline=stats(base_checkouts, base_out),
        after_settle=stats(checkouts, after_out),
        after_gc=None if gc_out is None else stats(checkouts, gc_out),
        survived_gc=None if gc_out is None else draw(st.none() | st.integers(0, after_out)),
    )


@st.composite
def observations(draw: st.DrawFn) -> Observation:
    baseline = draw(samples(Phase.BASELINE))
    return Observation(
        baseline=baseline,
        during=tuple(draw(st.lists(samples(Phase.LOAD), max_size=3))),
        after_settle=draw(samples(Phase.FINAL)),
        settled=draw(st.booleans()),
        settle_seconds=2.0,
        completed_requests=draw(st.integers(0, 300)),
        exercised_requests=draw(st.integers(-1, 300)),
        after_gc=draw(st.none() | samples(Phase.AFTER_GC)),
        sample_gaps=draw(st.integers(0, 5)),
        expected_samples=20,
        session_ends=draw(
            st.none() | st.builds(SessionEnds, fatal=st.integers(0, 2), killed=st.integers(0, 1))
        ),
        server_restarted=draw(st.booleans()),
        capacity=draw(
            st.none()
            | st.builds(
                Capacity,
                workers=st.just(1),
                per_worker=st.none() | st.just(12),
                max_connections=st.just(100),
                pool_timeouts=st.integers(0, 3),
                request_timeouts=st.integers(0, 3),
            )
        ),
        pool=draw(st.none() | pools()),
        database_transactions=draw(st.none() | st.integers(0, 400)),
        connections_used=draw(st.none() | st.integers(0, 12)),
        new_sessions=draw(st.none() | st.integers(0, 12)),
        idle_limit=draw(st.none() | st.integers(0, 4)),
        leak_sites=draw(st.sampled_from([(), (CheckoutSite("main.py", 7, "create", 2),)])),
        reclaims=draw(st.none() | st.builds(Reclaims, count=st.integers(0, 3))),
        made_engines=draw(
            st.none()
            | st.builds(
                MadeEngines,
                made=st.integers(0, 50),
                alive=st.integers(0, 50),
                holding=st.integers(0, 50),
                connections=st.integers(0, 50),
                processes=st.integers(1, 2),
            )
        ),
        failed_requests=draw(st.integers(0, 5)),
        timed_out_requests=draw(st.integers(0, 5)),
        server_errors=draw(st.integers(0, 5)),
    )


@settings(max_examples=600, deadline=None)
@given(observations(), st.none() | st.just(12), st.integers(0, 1))
def test_no_reason_contradicts_the_verdict_or_another(
    observation: Observation, capacity: int | None, tolerance: int
) -> None:
    findings = judge(observation, capacity=capacity, max_idle_in_transaction=tolerance)
    assert contradictions(findings) == []


@settings(max_examples=300, deadline=None)
@given(observations())
def test_either_view_alone_makes_a_row_leaked(observation: Observation) -> None:
    findings = judge(observation, capacity=None)
    pool = observation.pool
    if pool is not None and pool.leaked:
        assert findings.verdict is Verdict.LEAKED
    if residue(observation.after_settle, observation.baseline):
        assert findings.verdict is Verdict.LEAKED
    if findings.verdict is Verdict.CLEAN:
        assert pool is None or pool.leaked == 0


@settings(max_examples=300, deadline=None)
@given(observations())
def test_a_leak_seen_as_it_happened_is_leaked_whatever_is_left(observation: Observation) -> None:
    findings = judge(observation, capacity=None)
    reclaimed = observation.reclaims is not None and observation.reclaims.count > 0
    engines = observation.made_engines
    kept_engines = engines is not None and engines.holding > engines.processes
    if reclaimed or kept_engines:
        assert findings.verdict is Verdict.LEAKED
        assert findings.leak_kind is not LeakKind.NONE


def idle(n: int, phase: Phase = Phase.FINAL) -> ActivitySample:
    return ActivitySample(t=1.0, phase=phase, idle=n)


def stats(checked_out: int) -> PoolStats:
    return PoolStats(checkouts=100, checkins=100 - checked_out)


def test_connections_kept_idle_after_commit_are_checked_out_but_idle() -> None:
    # Issue 9's first app: 12 kept, PostgreSQL shows 14 idle, nothing in transaction.
    observation = Observation(
        baseline=idle(1, Phase.BASELINE),
        during=(),
        after_settle=idle(14),
        settled=False,
        settle_seconds=2.0,
        completed_requests=300,
        exercised_requests=300,
        after_gc=idle(14, Phase.AFTER_GC),
        pool=PoolView(baseline=stats(0), after_settle=stats(12), after_gc=stats(12)),
        capacity=Capacity(workers=1, per_worker=12, max_connections=100, pool_timeouts=90),
        leak_sites=(CheckoutSite("shop/orders.py", 42, "create_order", 12),),
    )
    findings = judge(observation, capacity=None)
    assert findings.verdict is Verdict.LEAKED
    assert findings.leak_kind is LeakKind.CHECKED_OUT_IDLE
    assert findings.leaked_connections == 12
    assert findings.reasons[0] == (
        "The pool still had 12 connection(s) checked out 2.0 s after the last request finished "
        "(0 at the baseline), while PostgreSQL shows them idle, outside any transaction."
    )
    assert "90 checkout(s) timed out waiting for the pool: leaked connections shrink" in (
        " ".join(findings.reasons)
    )
    assert contradictions(findings) == []


def test_kept_connections_the_collector_frees_are_awaiting_gc() -> None:
    observation = Observation(
        baseline=idle(1, Phase.BASELINE),
        during=(),
        after_settle=idle(5),
        settled=False,
        settle_seconds=2.0,
        completed_requests=300,
        pool=PoolView(baseline=stats(0), after_settle=stats(4), after_gc=stats(0)),
    )
    findings = judge(observation, capacity=None)
    assert (findings.verdict, findings.leak_kind) == (Verdict.LEAKED, LeakKind.AWAITING_GC)


def test_a_freed_connection_taken_again_by_a_queued_request_is_still_awaiting_gc() -> None:
    # After the collection the pool counts 4 checked out again, but none is the same checkout.
    observation = Observation(
        baseline=idle(1, Phase.BASELINE),
        during=(),
        after_settle=idle(5),
        settled=False,
        settle_seconds=2.0,
        completed_requests=300,
        pool=PoolView(stats(0), stats(4), after_gc=stats(4), survived_gc=0),
    )
    findings = judge(observation, capacity=None)
    assert (findings.verdict, findings.leak_kind) == (Verdict.LEAKED, LeakKind.AWAITING_GC)
    assert findings.pool_leaked_after_gc == 0


def test_without_the_pool_view_idle_beyond_what_the_pools_keep_is_leaked() -> None:
    def observe(final: ActivitySample, idle_limit: int | None) -> Observation:
        return Observation(
            baseline=idle(0, Phase.BASELINE),
            during=(),
            after_settle=final,
            settled=True,
            settle_seconds=1.0,
            completed_requests=100,
            database_transactions=100,
            idle_limit=idle_limit,
        )

    leaked = judge(observe(idle(14), idle_limit=2), capacity=None)
    assert leaked.verdict is Verdict.LEAKED
    assert "at least 12 are held outside the pools or checked out" in leaked.reasons[0]
    within = judge(observe(idle(2), idle_limit=2), capacity=None)
    assert within.verdict is Verdict.CLEAN
    assert "idle connections beyond the 2 the pools can keep idle" in within.reasons[-1]
    # Blind (no pool view, no pool sizes): a growth far beyond the baseline cannot be vouched for.
    blind = judge(observe(idle(14), idle_limit=None), capacity=None)
    assert blind.verdict is Verdict.INCONCLUSIVE
    assert "leakbench probe -- " in blind.reasons[0]
    warmed = judge(observe(idle(5), idle_limit=None), capacity=None)
    assert warmed.verdict is Verdict.CLEAN
    assert "cannot be seen from the server alone" in warmed.reasons[-1]


def test_a_4xx_after_sql_is_judged_and_a_4xx_before_it_is_inconclusive() -> None:
    def observe(transactions: int, checkouts: int) -> Observation:
        return Observation(
            baseline=idle(1, Phase.BASELINE),
            during=(),
            after_settle=idle(2),
            settled=True,
            settle_seconds=1.0,
            completed_requests=200,
            exercised_requests=0,
            database_transactions=transactions,
            connections_used=2 if checkouts else 0,
            new_sessions=0,
            pool=PoolView(
                baseline=PoolStats(checkouts=3, checkins=3),
                after_settle=PoolStats(checkouts=3 + checkouts, checkins=3 + checkouts),
            ),
        )

    judged = judge(observe(transactions=200, checkouts=200), capacity=None)
    assert judged.verdict is Verdict.CLEAN
    assert judged.reasons[0].startswith(
        "Every response was a 4xx, but the requests ran SQL (200 pool checkout(s), "
        "2 connection(s) that ran a statement, 0 new session(s), 200 transaction(s) in the "
        "database)"
    )
    refused = judge(observe(transactions=0, checkouts=0), capacity=None)
    assert refused.verdict is Verdict.INCONCLUSIVE
    assert refused.reasons[0].startswith(
        "Every response was a 4xx client error and nothing touched the database "
        "(0 pool checkout(s), 0 connection(s) that ran a statement, 0 new session(s), "
        "0 transaction(s) in the database during the row)"
    )
    assert "check --endpoint and --body" in refused.reasons[0]
    # Transactions alone do not prove it: PostgreSQL flushes them late, from before the row too.
    late = judge(observe(transactions=4, checkouts=0), capacity=None)
    assert late.verdict is Verdict.INCONCLUSIVE
