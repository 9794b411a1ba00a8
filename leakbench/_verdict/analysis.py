"""Pure analysis: from pg_stat_activity samples to a verdict. No I/O here.

The rule (documented in docs/verdict.md):

* Connections idle in transaction or active while requests are in flight are
  *transient*; their peak is reported, never judged.
* After the load stops, the target settles: sampling goes on until its
  connections are back to the baseline for a quiet period, or ``settle``
  seconds pass.
* Both vantage points decide. Whatever is still idle in transaction (beyond
  ``max_idle_in_transaction``) or active above the baseline after the settle
  is *persistent*: LEAKED. So is a connection the target's pools still have
  checked out beyond the baseline (the in-target probe counts checkouts and
  checkins), even when PostgreSQL shows it idle: kept after a commit, it holds
  no transaction but never goes back to the pool (psycopg_pool's own count,
  ``pool_size - pool_available``, is judged alike; the connections it counts
  out beyond the database's sessions are *lost by the pool*). So is a target still holding
  more connections than its pools allow after the settle (connections opened
  outside the pool and kept); a peak above the pools during the load alone is
  transient (short-lived raw connections). Without the pool view, idle
  connections beyond what the pools can keep idle (their pool_size) count.
* A forced garbage collection in the target then tells a leak held by a live
  reference (it survives) from one only waiting for the collector (it goes).
* Whether the requests reached the database is decided by the database: the
  target's connections that ran a statement during the row, the sessions
  opened to it, and the pool's checkouts, never by the HTTP status class (a
  409 after an INSERT ran SQL).
* A row that would be CLEAN is INCONCLUSIVE when nothing touched the database,
  or PostgreSQL itself ended sessions of the database during it
  (idle_in_transaction_session_timeout turns a leak into such silent
  terminations).
* Requests that time out waiting for the pool are a capacity finding, not a
  leak (see :mod:`leakbench._verdict.capacity`).
"""

from __future__ import annotations

from leakbench._results import (
    ActivitySample,
    Findings,
    LeakKind,
    PoolStats,
    Verdict,
)
from leakbench._verdict import collector
from leakbench._verdict.capacity import capacity_reasons
from leakbench._verdict.doubts import doubt as doubt_of
from leakbench._verdict.doubts import evidence, touched
from leakbench._verdict.observation import (
    Observation,
    PoolView,
    beyond_pools,
    is_quiet,
    residue,
    settle_reached,
)

__all__ = [
    "Observation",
    "PoolView",
    "beyond_pools",
    "classify_leak",
    "is_quiet",
    "judge",
    "residue",
    "settle_reached",
]


def classify_leak(
    baseline: ActivitySample,
    after_settle: ActivitySample,
    after_gc: ActivitySample | None,
    *,
    pool: PoolView | None = None,
    capacity: int | None = None,
    idle_limit: int | None = None,
) -> LeakKind:
    """Held by a live reference (survives a collection) or waiting for the collector.

    Open transactions decide first, as PostgreSQL shows them. Counts alone can
    mislead: requests still queued in the target for a pool connection (their
    client gave up, the server has not) take the connections a collection
    frees and open new transactions at once. So when both snapshots name
    their open transactions, the question is whether any of the *same*
    transactions survived. Connections only the pool sees checked out (idle to
    PostgreSQL) are *checked out but idle* when they survive the collection.
    """
    if residue(after_settle, baseline):
        return _transactions_kind(baseline, after_settle, after_gc)
    if pool is not None and pool.leaked:
        return _pool_kind(pool, after_gc or after_settle)
    limits = {"capacity": capacity, "idle_limit": idle_limit}
    if not beyond_pools(after_settle, baseline, **limits):
        return LeakKind.NONE
    if after_gc is None:
        return LeakKind.UNKNOWN
    if beyond_pools(after_gc, baseline, **limits):
        return LeakKind.HELD_BY_REFERENCE
    return LeakKind.AWAITING_GC


def _pool_kind(pool: PoolView, last_look: ActivitySample) -> LeakKind:
    """Survivors of the collection are checked out but idle, or lost by the pool when the
    target's database has fewer sessions than psycopg_pool counts checked out: a checked-out
    connection is a session, so those beyond the sessions are closed, and only the pool's
    count still holds them (the lost ones of psycopg/psycopg#509)."""
    survivors = pool.leaked_after_gc
    if survivors is None:
        return LeakKind.UNKNOWN
    if not survivors:
        return LeakKind.AWAITING_GC
    if lost_by_pool(pool, last_look):
        return LeakKind.LOST_BY_POOL
    return LeakKind.CHECKED_OUT_IDLE


def lost_by_pool(pool: PoolView, last_look: ActivitySample) -> int:
    """psycopg_pool's connections counted checked out (at the pools' last reading) beyond
    every session the target's database has (at PostgreSQL's last look): they exist in the
    pool's count alone. SQLAlchemy's count is of checkouts the app still holds (a session
    PostgreSQL ended is still the app's to give back), so only psycopg_pool's are lost."""
    counted = pool.after_gc if pool.after_gc is not None else pool.after_settle
    beyond = counted.checked_out - last_look.total
    return max(0, min(counted.psycopg_checked_out, beyond))


def _transactions_kind(
    baseline: ActivitySample, after_settle: ActivitySample, after_gc: ActivitySample | None
) -> LeakKind:
    if after_gc is None:
        return LeakKind.UNKNOWN
    before, after = after_settle.detail, after_gc.detail
    if before is not None and after is not None and before.open_transactions:
        survivors = set(before.open_transactions) & set(after.open_transactions)
        return LeakKind.HELD_BY_REFERENCE if survivors else LeakKind.AWAITING_GC
    if residue(after_gc, baseline) == 0:
        return LeakKind.AWAITING_GC
    return LeakKind.HELD_BY_REFERENCE


_KIND_REASONS = {
    LeakKind.AWAITING_GC: "A forced garbage collection in the target released them.",
    LeakKind.HELD_BY_REFERENCE: (
        "They survived a forced garbage collection: a live reference holds them."
    ),
    LeakKind.CHECKED_OUT_IDLE: (
        "Checked out but idle: they survived a forced garbage collection, so a live reference "
        "keeps them out of the pool, idle and outside any transaction, where PostgreSQL alone "
        "shows nothing unusual."
    ),
    LeakKind.LOST_BY_POOL: (
        "Lost by the pool: after a forced garbage collection psycopg_pool still counts them "
        "checked out, but the target's database has fewer sessions than that, so they are "
        "closed; the pool keeps counting them in its pool_size and serves that many fewer "
        "connections."
    ),
    LeakKind.UNKNOWN: (
        "No garbage collection could be forced in the target (leakbench did not start it, "
        "or it did not answer), so whether a live reference or the collector holds them "
        "is unknown."
    ),
}

POOL_VIEW_UNKNOWN = (
    "The pool's own count is unknown (attach mode, or no SQLAlchemy or psycopg_pool pool "
    "answered in the target), so this is PostgreSQL's view alone"
)


def judge(
    observation: Observation, *, capacity: int | None, max_idle_in_transaction: int = 0
) -> Findings:
    """Turn one row's observation into findings with a verdict and its reasons.

    Both vantage points decide: PostgreSQL's (connections idle in transaction
    or active after the settle, connections beyond the pools) and the pool's
    (connections still checked out beyond the baseline, even when PostgreSQL
    shows them idle).
    """
    baseline, final, pool = observation.baseline, observation.after_settle, observation.pool
    window = (baseline, *observation.during, final)
    peak_idle_in_transaction = max(s.in_transaction for s in window)
    peak_active = max(s.active for s in window)
    peak_total = max(s.total for s in window)
    ages = [s.oldest_transaction_seconds for s in window if s.oldest_transaction_seconds]
    peak_age = max(ages) if ages else None
    settle = observation.settle_seconds
    # Without the pool's count, the pools' idle size is the server-side check left.
    idle_limit = observation.idle_limit if pool is None else None

    extra_in_transaction = max(0, final.in_transaction - baseline.in_transaction)
    extra_active = max(0, final.active - baseline.active)
    extra_idle = beyond_pools(final, baseline, capacity=None, idle_limit=idle_limit)
    pool_leaked = pool.leaked if pool is not None else 0
    leaked = max(extra_in_transaction + extra_active, pool_leaked, extra_idle)
    reasons: list[str] = []

    if extra_in_transaction > max_idle_in_transaction:
        reasons.append(
            f"{extra_in_transaction} connection(s) were still idle in transaction "
            f"{settle:.1f} s after the last request finished."
        )
    if extra_active:
        reasons.append(
            f"{extra_active} connection(s) were still active "
            f"{settle:.1f} s after the last request finished."
        )
    if pool is not None and pool_leaked:
        reasons.append(
            f"The pool{_named(pool.after_settle)} still had {pool.after_settle.checked_out} "
            f"connection(s) checked out {settle:.1f} s after the last request finished "
            f"({pool.baseline.checked_out} at the baseline)"
            f"{_server_side_of(observation, pool_leaked)}{_waiting(pool.after_settle)}."
        )
    if capacity is not None and final.total > capacity:
        reasons.append(
            f"The target still held {final.total} connections after the settle, "
            f"more than its pools allow ({capacity})."
        )
    if extra_idle:
        reasons.append(
            f"{final.idle} connection(s) were idle after the settle: more than the baseline's "
            f"{baseline.idle} plus the {idle_limit} its pools can keep idle, so at least "
            f"{extra_idle} are held outside the pools or checked out."
        )
    kind = classify_leak(
        baseline, final, observation.after_gc, pool=pool, capacity=capacity, idle_limit=idle_limit
    )
    kind = collector.kind_with_engines(observation, kind, pool_leaked=pool_leaked)
    if reasons and kind in _KIND_REASONS:
        reasons.append(_KIND_REASONS[kind])
    kind, leaked = collector.seen_as_they_happen(observation, reasons, kind, leaked)
    if reasons:
        verdict = Verdict.LEAKED
    elif (doubt := doubt_of(observation, peak_total)) is not None:
        verdict = Verdict.INCONCLUSIVE
        kind = LeakKind.NONE
        reasons.append(doubt)
    else:
        verdict = Verdict.CLEAN
        kind = LeakKind.NONE
        reasons.extend(_clean_reasons(observation, peak_idle_in_transaction))
    if observation.capacity is not None:
        reasons.extend(
            capacity_reasons(
                observation.capacity, verdict=verdict, pool_seen=pool is not None and pool.seen
            )
        )
    return Findings(
        verdict=verdict,
        reasons=tuple(reasons),
        baseline=baseline,
        after_settle=final,
        peak_idle_in_transaction=peak_idle_in_transaction,
        peak_active=peak_active,
        peak_total_connections=peak_total,
        peak_oldest_transaction_seconds=peak_age,
        settled=observation.settled,
        settle_seconds=settle,
        leaked_connections=leaked,
        leak_kind=kind,
        after_gc=observation.after_gc,
        sample_gaps=observation.sample_gaps,
        session_ends=observation.session_ends,
        capacity=observation.capacity,
        pool_leaked_connections=pool.leaked if pool is not None else None,
        pool_leaked_after_gc=pool.leaked_after_gc if pool is not None else None,
        database_transactions=observation.database_transactions,
        pool_checkouts=pool.checkouts if pool is not None else None,
        connections_used=observation.connections_used,
        new_sessions=observation.new_sessions,
        leak_sites=observation.leak_sites if verdict is Verdict.LEAKED else (),
        reclaims=observation.reclaims,
        made_engines=observation.made_engines,
        in_flight_sites=observation.in_flight_sites,
    )


def _named(pool: PoolStats) -> str:
    """The kind of pool, when the count is not SQLAlchemy's events alone."""
    if not pool.psycopg_pools:
        return ""
    return f" ({pool.kind}; psycopg_pool's count is its own pool_size - pool_available)"


def _waiting(pool: PoolStats) -> str:
    if not pool.psycopg_waiting:
        return ""
    return (
        f"; its queue still held {pool.psycopg_waiting} request(s) waiting for a connection "
        "(requests_waiting, which can count waiters already cancelled)"
    )


def _server_side_of(observation: Observation, pool_leaked: int) -> str:
    """What PostgreSQL shows of connections the pool still has checked out, when it differs."""
    final, baseline = observation.after_settle, observation.baseline
    if residue(final, baseline):
        return ""
    if final.idle >= pool_leaked:
        return ", while PostgreSQL shows them idle, outside any transaction"
    ends = observation.session_ends
    if ends is not None and ends.terminated:
        return (
            f", while PostgreSQL shows no transaction for them: it ended {ends.terminated} "
            "session(s) of the database during the row, and the app never gave those back"
        )
    return ", while PostgreSQL shows no transaction for them"


def _clean_reasons(observation: Observation, peak_idle_in_transaction: int) -> list[str]:
    reasons: list[str] = []
    if peak_idle_in_transaction > observation.baseline.in_transaction:
        reasons.append(
            f"Up to {peak_idle_in_transaction} connection(s) were idle in transaction "
            "while requests were in flight (transient), none after the settle."
        )
    if observation.exercised_requests == 0 and touched(observation):
        reasons.append(
            f"{observation.no_answer()}, but the requests ran SQL ({evidence(observation)}), "
            "so the row is judged like any other."
        )
    if observation.pool is None:
        limit = observation.idle_limit
        reasons.append(
            f"{POOL_VIEW_UNKNOWN}: "
            + (
                f"idle connections beyond the {limit} the pools can keep idle would have "
                "counted as leaked, and none were."
                if limit is not None
                else "a connection kept checked out but idle (outside a transaction) cannot "
                "be seen from the server alone."
            )
        )
    return reasons
