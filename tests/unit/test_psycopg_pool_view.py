"""psycopg_pool's own pools: the probe remembers them, and the verdict judges their count.

The figures are psycopg_pool's own (``get_stats()``: ``pool_size - pool_available``
checked out, ``requests_waiting``). Measured on scenarios/cancelled_pool_wait.py with
psycopg_pool 3.1.6 (docs/leaks.md): 12 connections counted out by the pool after the
settle, none of them a session in PostgreSQL, and the row was CLEAN before the pool was
seen.
"""

from __future__ import annotations

import dataclasses
import gc
import weakref

from psycopg_pool import AsyncConnectionPool, ConnectionPool, NullConnectionPool

from leakbench._output.notes import vantage_notes
from leakbench._results import ActivitySample, LeakKind, Phase, PoolStats, Verdict
from leakbench._targets import psycopg_pools
from leakbench._verdict.analysis import Observation, PoolView, judge
from tests.consistency import contradictions
from tests.factories import row

POOLS = psycopg_pools.PsycopgPools()
psycopg_pools.install(POOLS)


def test_every_kind_of_pool_made_after_the_hook_is_remembered() -> None:
    made = POOLS.made
    pools = [
        ConnectionPool("dbname=none", open=False),
        AsyncConnectionPool("dbname=none", open=False),
        NullConnectionPool("dbname=none", open=False),
    ]

    assert POOLS.made == made + 3
    # Never opened: psycopg_pool calls such a pool closed, and its pool_size (min_size
    # already) is no connection; it is not counted.
    assert all(pool.closed for pool in pools)
    assert POOLS.figures()["psycopg_pools"] == 0


def test_the_probe_keeps_no_pool_alive() -> None:
    made = ConnectionPool("dbname=none", open=False)
    dropped = weakref.ref(made)
    del made
    gc.collect()

    assert dropped() is None


def test_installing_twice_hooks_once() -> None:
    other = psycopg_pools.PsycopgPools()
    psycopg_pools.install(other)
    ConnectionPool("dbname=none", open=False)

    assert other.made == 0


def pool(checked_out: int = 0, waiting: int = 0) -> PoolStats:
    return PoolStats(psycopg_pools=1, psycopg_checked_out=checked_out, psycopg_waiting=waiting)


def observe(
    after_settle: PoolStats, after_gc: PoolStats | None, *, sessions: int = 2
) -> Observation:
    quiet = ActivitySample(t=3.0, phase=Phase.FINAL, idle=sessions)
    return Observation(
        baseline=ActivitySample(t=0.0, phase=Phase.BASELINE, idle=2),
        during=(ActivitySample(t=1.0, phase=Phase.LOAD, active=4, idle=8),),
        after_settle=quiet,
        settled=False,
        settle_seconds=5.0,
        completed_requests=100,
        exercised_requests=100,
        after_gc=dataclasses.replace(quiet, phase=Phase.AFTER_GC) if after_gc else None,
        pool=PoolView(baseline=pool(), after_settle=after_settle, after_gc=after_gc),
        connections_used=12,
        new_sessions=12,
    )


def test_connections_the_pool_counts_out_beyond_every_session_are_lost_by_the_pool() -> None:
    lost = pool(checked_out=12, waiting=35)
    findings = judge(observe(lost, lost, sessions=0), capacity=None)

    assert findings.verdict is Verdict.LEAKED
    assert findings.leak_kind is LeakKind.LOST_BY_POOL
    assert findings.pool_leaked_connections == 12
    assert contradictions(findings) == []
    text = " ".join(findings.reasons)
    assert "The pool (psycopg_pool; psycopg_pool's count is its own" in text
    assert "still had 12 connection(s) checked out" in text
    assert "its queue still held 35 request(s) waiting" in text
    assert "Lost by the pool" in text


def test_connections_out_and_idle_in_postgresql_are_checked_out_but_idle() -> None:
    held = pool(checked_out=6)
    findings = judge(observe(held, held, sessions=8), capacity=None)

    assert findings.verdict is Verdict.LEAKED
    assert findings.leak_kind is LeakKind.CHECKED_OUT_IDLE


def test_sqlalchemy_checkouts_whose_sessions_ended_are_still_the_apps() -> None:
    # PostgreSQL ended their sessions (idle_in_transaction_session_timeout), yet the app holds
    # the checkouts and could give them back: not lost by the pool.
    held = PoolStats(pools_made=1, checkouts=5)
    observation = dataclasses.replace(
        observe(held, held, sessions=0),
        pool=PoolView(baseline=PoolStats(pools_made=1), after_settle=held, after_gc=held),
    )
    findings = judge(observation, capacity=None)

    assert findings.verdict is Verdict.LEAKED
    assert findings.leak_kind is LeakKind.CHECKED_OUT_IDLE


def test_connections_the_collection_gave_back_were_awaiting_it() -> None:
    findings = judge(observe(pool(checked_out=6), pool(), sessions=0), capacity=None)

    assert findings.verdict is Verdict.LEAKED
    assert findings.leak_kind is LeakKind.AWAITING_GC


def test_a_psycopg_pool_with_every_connection_back_is_clean_and_vouches() -> None:
    findings = judge(observe(pool(), None), capacity=None)

    assert findings.verdict is Verdict.CLEAN
    assert contradictions(findings) == []
    assert not any("pool's own count is unknown" in reason for reason in findings.reasons)


def test_the_notes_name_the_pool_kind_and_its_queue() -> None:
    lost = pool(checked_out=12, waiting=35)
    findings = judge(observe(lost, lost, sessions=0), capacity=None)
    measured = dataclasses.replace(
        row(), findings=findings, pool_baseline=pool(), pool_after_settle=lost, pool_after_gc=lost
    )

    notes = " ".join(vantage_notes(measured))
    assert "the pool (psycopg_pool) still has 12 checked out (0 at the baseline)" in notes
    assert "35 request(s) in its queue for a connection" in notes
