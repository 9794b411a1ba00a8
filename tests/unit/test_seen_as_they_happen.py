"""Leaks seen as they happen: checkouts the garbage collector ended, engines made per request,
and rows PostgreSQL alone cannot vouch for. The rules are pure (leakbench._verdict.collector);
the probe's signal is checked on a real SQLAlchemy pool (SQLite), collected for real.
"""

from __future__ import annotations

import dataclasses
import gc
import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session

from leakbench._output.notes import leak_site_notes
from leakbench._output.reports import json as report_json
from leakbench._results import (
    ActivitySample,
    Capacity,
    CheckoutSite,
    EngineSite,
    LeakKind,
    MadeEngines,
    Phase,
    PoolStats,
    Reclaims,
    Verdict,
)
from leakbench._targets.probe import PoolCounters
from leakbench._verdict.analysis import Observation, PoolView, judge
from leakbench._verdict.outcome import judge as outcome
from tests.consistency import contradictions
from tests.factories import row, run_result


def idle(n: int, phase: Phase = Phase.FINAL, t: float = 1.0) -> ActivitySample:
    return ActivitySample(t=t, phase=phase, idle=n)


def observe(**overrides: object) -> Observation:
    quiet = PoolStats(checkouts=100, checkins=100)
    fields: dict[str, object] = {
        "baseline": idle(1, Phase.BASELINE),
        "during": (idle(5, Phase.LOAD, 0.1), idle(5, Phase.LOAD, 2.1)),
        "after_settle": idle(1),
        "settled": True,
        "settle_seconds": 1.0,
        "completed_requests": 400,
        "exercised_requests": 400,
        "pool": PoolView(baseline=PoolStats(), after_settle=quiet),
        "capacity": Capacity(workers=1, per_worker=12, max_connections=100),
    }
    fields.update(overrides)
    return Observation(**fields)  # type: ignore[arg-type]  # the test's own keyword set


def test_checkouts_the_collector_ended_make_a_row_leaked_though_nothing_is_left() -> None:
    site = CheckoutSite("app/routes.py", 42, "write", 3)
    findings = judge(observe(reclaims=Reclaims(3, 0.4, 1.9, (site,))), capacity=None)
    assert findings.verdict is Verdict.LEAKED
    assert findings.leak_kind is LeakKind.AWAITING_GC
    assert findings.leaked_connections == 3
    reason = findings.reasons[0]
    assert "3 checkout(s) were never returned" in reason
    assert "between 0.4 s and 1.9 s" in reason and "app/routes.py:42 in write" in reason
    assert contradictions(findings) == []
    clean = judge(observe(reclaims=Reclaims(0)), capacity=None)
    assert clean.verdict is Verdict.CLEAN


def test_engines_made_during_the_row_and_kept_are_their_own_leak_with_a_projection() -> None:
    engines = MadeEngines(
        made=120,
        alive=80,
        holding=80,
        connections=80,
        sites=(EngineSite("app/db.py", 9, "get_db", 80, 80),),
    )
    findings = judge(observe(after_settle=idle(81), made_engines=engines), capacity=None)
    assert findings.verdict is Verdict.LEAKED
    assert findings.leak_kind is LeakKind.ENGINES_NOT_DISPOSED
    reason = " ".join(findings.reasons)
    assert "120 engine pool(s) were made during the row" in reason
    assert "app/db.py:9 in get_db" in reason
    # 80 connections in 2 s of load: 40 per second; 100 - 81 left: about 0 s more.
    assert "40.0 connection(s) per second" in reason and "max_connections (100)" in reason
    assert contradictions(findings) == []


def test_one_engine_per_process_made_lazily_is_no_leak() -> None:
    lazy = MadeEngines(made=1, alive=1, holding=1, connections=5, processes=1)
    findings = judge(observe(after_settle=idle(5), made_engines=lazy), capacity=None)
    assert findings.verdict is Verdict.CLEAN


def test_engines_made_lazily_while_warming_up_are_no_leak_those_made_all_along_are() -> None:
    # The load's samples span 2 s (0.1 to 2.1): a primary and a replica engine made on the
    # first request, or engines still being made in the second half of the load.
    warm_up = MadeEngines(made=2, alive=2, holding=2, connections=4, last_made_seconds=0.2)
    findings = judge(observe(after_settle=idle(5), made_engines=warm_up), capacity=None)
    assert findings.verdict is Verdict.CLEAN
    all_along = MadeEngines(made=40, alive=30, holding=30, connections=30, last_made_seconds=1.9)
    findings = judge(observe(after_settle=idle(31), made_engines=all_along), capacity=None)
    assert findings.verdict is Verdict.LEAKED
    assert findings.leak_kind is LeakKind.ENGINES_NOT_DISPOSED


def test_without_the_pool_view_a_row_that_ended_above_its_baseline_with_failures_is_doubted() -> (
    None
):
    blind = {"pool": None, "idle_limit": None}
    waited = judge(observe(after_settle=idle(3), server_errors=40, **blind), capacity=None)
    assert waited.verdict is Verdict.INCONCLUSIVE
    assert "leakbench probe -- uvicorn" in waited.reasons[0]
    assert "40 request(s) failed or timed out" in waited.reasons[0]
    warmed = judge(observe(after_settle=idle(3), **blind), capacity=None)
    assert warmed.verdict is Verdict.CLEAN
    far = judge(observe(after_settle=idle(12), **blind), capacity=None)
    assert far.verdict is Verdict.INCONCLUSIVE


def test_a_row_whose_requests_all_timed_out_says_so() -> None:
    nothing = observe(
        exercised_requests=0,
        failed_requests=400,
        timed_out_requests=400,
        pool=PoolView(baseline=PoolStats(), after_settle=PoolStats()),
    )
    findings = judge(nothing, capacity=None)
    assert findings.verdict is Verdict.INCONCLUSIVE
    assert findings.reasons[0].startswith("No request got an answer (400 timed out)")
    assert "4xx" not in findings.reasons[0]


@pytest.fixture
def engine_and_counters(tmp_path: Path):  # type: ignore[no-untyped-def]  # a fixture pair
    engine = create_engine(f"sqlite:///{tmp_path / 'probe.db'}", pool_size=3, max_overflow=0)
    counters = PoolCounters()
    event.listen(engine.pool, "checkout", lambda _d, rec, proxy: counters.checked_out(rec, proxy))
    event.listen(engine.pool, "checkin", lambda _d, rec: counters.checked_in(rec))
    event.listen(engine.pool, "detach", lambda _d, rec: counters.checked_in(rec, "detach"))
    yield engine, counters
    engine.dispose()


def test_the_probe_tells_a_collected_checkout_from_a_returned_one(engine_and_counters) -> None:  # type: ignore[no-untyped-def]
    engine, counters = engine_and_counters
    counters.mark()
    with Session(engine) as closed:
        closed.execute(text("SELECT 1"))
    assert counters.reclaims()["count"] == 0

    def drop_in_a_cycle() -> None:
        session = Session(engine)
        session.info["self"] = session  # only the cyclic collector frees it
        session.execute(text("SELECT 1"))

    gc.disable()
    try:
        drop_in_a_cycle()
        assert counters.reclaims()["count"] == 0  # still checked out, awaiting the collector
        gc.collect()
    finally:
        gc.enable()
    reclaims = counters.reclaims()
    assert reclaims["count"] == 1
    assert reclaims["sites"][0]["function"] == "drop_in_a_cycle"
    assert counters.outstanding() == []


def test_the_probe_tells_in_flight_checkouts_from_leaked_ones(engine_and_counters) -> None:  # type: ignore[no-untyped-def]
    engine, counters = engine_and_counters
    counters.mark()
    kept = engine.connect()  # never returned
    in_flight = engine.connect()  # returned after its sites were asked for

    def dropped() -> None:
        session = Session(engine)
        session.info["self"] = session
        session.execute(text("SELECT 1"))

    gc.disable()
    try:
        dropped()
        assert sum(site["count"] for site in counters.sites()) == 3
        in_flight.close()
        gc.collect()
    finally:
        gc.enable()
    fates = {
        (site["function"], site["held"], site["returned"], site["reclaimed"])
        for site in counters.fates()
    }
    owner = "test_the_probe_tells_in_flight_checkouts_from_leaked_ones"
    assert fates == {(owner, 1, 0, 0), (owner, 0, 1, 0), ("dropped", 0, 0, 1)}
    kept.close()


def test_what_the_probe_saw_reads_back_whole_from_report_json() -> None:
    site = CheckoutSite("app/routes.py", 42, "write", 3)
    measured = row("rare", "mix (2 routes)", Verdict.LEAKED)
    assert measured.findings is not None
    findings = dataclasses.replace(
        measured.findings,
        leak_kind=LeakKind.AWAITING_GC,
        reclaims=Reclaims(3, 0.4, 1.9, (site,)),
        made_engines=MadeEngines(5, 4, 3, 3, 1, (EngineSite("app/db.py", 9, "get_db", 3, 3),)),
        in_flight_sites=(CheckoutSite("app/routes.py", 50, "read", 2),),
    )
    result = run_result(dataclasses.replace(measured, findings=findings, drivers=("x 1 (Q)",)))
    result = dataclasses.replace(result, versions=result.versions.with_drivers([("x 1 (Q)",)]))
    again = report_json.from_dict(json.loads(report_json.dumps(result, outcome(result))))
    assert again.rows[0].findings == findings
    assert again.rows[0].drivers == ("x 1 (Q)",)
    assert again.versions.drivers == ("x 1 (Q)",)


def test_connections_held_by_requests_in_flight_are_noted_apart_from_leak_sites() -> None:
    measured = row("kept", "/ok", Verdict.LEAKED)
    assert measured.findings is not None
    findings = dataclasses.replace(
        measured.findings,
        leak_sites=(CheckoutSite("app/routes.py", 13, "keep", 10),),
        in_flight_sites=(CheckoutSite("app/routes.py", 13, "keep", 2),),
    )
    notes = leak_site_notes(dataclasses.replace(measured, findings=findings))
    assert notes[0].startswith("10 connection(s) checked out at app/routes.py:13 in keep, never")
    assert notes[1].startswith("2 connection(s) checked out at app/routes.py:13 in keep were still")
    assert "in flight" in notes[1] and "never returned" not in notes[1]
