"""Each phase of a row alone, on a fake target and a fake poller (no server, no process)."""

from __future__ import annotations

import pytest

from leakbench._load.driver import LoadPlan, LoadProgress
from leakbench._progress.events import RunObserver
from leakbench._results import ExternalLoad, Phase, PoolStats, Reclaims, SessionEnds
from leakbench._runner import phases
from leakbench._settings import Endpoint, Workload
from leakbench._targets.handle import RowSpec
from leakbench._verdict import analysis
from leakbench.errors import TargetError
from tests.unit.row_fakes import FakePoller, FakeTarget

POOL = PoolStats(checkouts=5, checkins=5)
ONE_OUT = PoolStats(checkouts=6, checkins=5)
SPEC = RowSpec(name="app", workload=Workload.single(Endpoint("GET", "/")))


def leaking(phase: phases.Phase) -> dict[str, int]:
    """One connection idle in transaction from the load on: what a leak looks like."""
    return {"idle": 1} if phase is Phase.BASELINE else {"idle": 1, "idle_in_transaction": 1}


def test_baseline_reads_the_database_and_the_pool_and_marks_the_checkouts() -> None:
    poller, target = FakePoller(), FakeTarget(pools=[POOL])
    baseline = phases.take_baseline(poller, target)
    assert baseline.sample.phase is Phase.BASELINE
    assert baseline.sample.idle == 1
    assert baseline.pool == POOL
    assert baseline.transactions == 10
    assert baseline.sessions == 3
    assert target.marked == 1


def test_baseline_that_cannot_be_read_stops_the_row() -> None:
    poller = FakePoller()
    poller.snapshot = lambda _phase: None  # type: ignore[method-assign]
    with pytest.raises(TargetError, match="before the load started"):
        phases.take_baseline(poller, FakeTarget())


class _Phases(RunObserver):
    def __init__(self) -> None:
        self.seen: list[Phase] = []

    def phase_changed(self, phase: Phase, limit_seconds: float | None) -> None:
        del limit_seconds
        self.seen.append(phase)


def test_load_tags_the_samples_and_returns_what_the_step_reports() -> None:
    poller, observer = FakePoller(), _Phases()
    during: list[Phase] = []

    def step(plan: LoadPlan, progress: LoadProgress) -> ExternalLoad:
        del plan, progress
        during.append(poller.phase)
        return ExternalLoad(command="tool", elapsed_seconds=0.1)

    plan = LoadPlan(
        base_url="http://127.0.0.1:1", endpoint=Endpoint("GET", "/"), concurrency=1, duration=1.0
    )
    outcome = phases.load(poller, observer, step, plan, LoadProgress(), duration=1.0)
    assert outcome == ExternalLoad(command="tool", elapsed_seconds=0.1)
    assert during == [Phase.LOAD]
    assert observer.seen == [Phase.LOAD]


def _settle(poller: FakePoller, target: FakeTarget, *, seconds: float) -> tuple[bool, float]:
    baseline = phases.take_baseline(poller, target)
    poller.phase = Phase.SETTLE
    return phases.settle(
        poller, target, baseline, settle_seconds=seconds, quiet_period=0.0, poll_interval=0.005
    )


def test_settle_ends_as_soon_as_the_database_is_back_at_its_baseline() -> None:
    settled, seconds = _settle(FakePoller(), FakeTarget(), seconds=5.0)
    assert settled
    assert seconds < 1.0


def test_settle_runs_out_of_time_while_a_transaction_stays_open() -> None:
    settled, seconds = _settle(FakePoller(leaking), FakeTarget(), seconds=0.1)
    assert not settled
    assert seconds >= 0.1


def test_settle_waits_for_the_pool_too_when_a_probe_answers() -> None:
    # Quiet to PostgreSQL, but a checkout is still out: not settled until it returns.
    target = FakeTarget(pools=[POOL, ONE_OUT, POOL])
    settled, _ = _settle(FakePoller(), target, seconds=5.0)
    assert settled
    stuck = FakeTarget(pools=[POOL, ONE_OUT])
    settled, _ = _settle(FakePoller(), stuck, seconds=0.1)
    assert not settled


def test_second_look_counts_what_happened_since_the_baseline() -> None:
    poller, target = FakePoller(), FakeTarget(pools=[POOL])
    baseline = phases.take_baseline(poller, target)
    poller.transactions_count += 40
    poller.sessions_count += 2
    poller.ends = SessionEnds(fatal=0, killed=1, abandoned=0)
    look = phases.second_look(poller, target, baseline, settled=True)
    assert look is not None
    assert look.final.phase is Phase.FINAL
    assert look.transactions == 40
    assert look.new_sessions == 2
    assert look.session_ends == SessionEnds(fatal=0, killed=1, abandoned=0)
    assert not look.server_restarted
    assert look.connections_used == 2
    assert look.pool == POOL


def test_second_look_reads_what_the_probe_saw_as_it_happened_only_with_a_pool() -> None:
    reclaimed = Reclaims(2, 0.5, 0.9)
    poller, target = FakePoller(), FakeTarget(pools=[POOL], reclaimed=reclaimed)
    look = phases.second_look(poller, target, phases.take_baseline(poller, target), settled=True)
    assert look is not None and look.reclaims == reclaimed
    blind = FakeTarget(reclaimed=reclaimed)  # no probe answers: nothing is asked of it
    look = phases.second_look(poller, blind, phases.take_baseline(poller, blind), settled=True)
    assert look is not None and look.reclaims is None


def test_second_look_sees_a_server_restart() -> None:
    poller, target = FakePoller(), FakeTarget()
    baseline = phases.take_baseline(poller, target)
    poller.started_at = "2026-12-02T00:05:00"
    look = phases.second_look(poller, target, baseline, settled=True)
    assert look is not None and look.server_restarted


def test_second_look_without_a_snapshot_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(phases, "FINAL_ATTEMPTS", 3)
    poller, target = FakePoller(), FakeTarget()
    baseline = phases.take_baseline(poller, target)
    poller.readable = False
    assert phases.second_look(poller, target, baseline, settled=True) is None


def _collect(poller: FakePoller, target: FakeTarget) -> phases.Collection:
    baseline = phases.take_baseline(poller, target)
    look = phases.second_look(poller, target, baseline, settled=True)
    assert look is not None
    view = (
        analysis.PoolView(baseline=baseline.pool, after_settle=look.pool)
        if baseline.pool is not None and look.pool is not None
        else None
    )
    return phases.collect_and_look(
        spec=SPEC,
        target=target,
        poller=poller,
        baseline=baseline.sample,
        final=look.final,
        pool_view=view,
        idle_limit=None,
    )


def test_collection_is_not_forced_when_nothing_is_left(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(phases, "AFTER_GC_PAUSE", 0.0)
    target = FakeTarget(pools=[POOL], after_gc=POOL)
    collection = _collect(FakePoller(), target)
    assert target.collected == 0
    assert collection.after_gc is None


def test_collection_is_forced_and_looked_at_when_a_transaction_is_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(phases, "AFTER_GC_PAUSE", 0.0)
    target = FakeTarget(after_gc=POOL)
    collection = _collect(FakePoller(leaking), target)
    assert target.collected == 1
    assert collection.after_gc is not None
    assert collection.after_gc.phase is Phase.AFTER_GC


def test_collection_counts_the_very_checkouts_that_survive_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(phases, "AFTER_GC_PAUSE", 0.0)
    monkeypatch.setattr(phases, "QUIET_LOOK_SECONDS", 0.0)
    target = FakeTarget(pools=[POOL, ONE_OUT], after_gc=ONE_OUT, held=frozenset({"c1"}))
    collection = _collect(FakePoller(), target)
    assert target.collected == 1
    assert collection.pool_view is not None
    assert collection.pool_view.after_gc == ONE_OUT
    assert collection.pool_view.survived_gc == 1


def test_completed_requests_come_from_whichever_load_says() -> None:
    assert phases.completed_requests(None, ExternalLoad(command="x", elapsed_seconds=1.0)) == -1
    assert (
        phases.completed_requests(None, ExternalLoad(command="x", elapsed_seconds=1, requests=7))
        == 7
    )
