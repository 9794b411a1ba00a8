"""Capacity, told apart from leaks: pure functions, no I/O.

A pool that is too small for the load makes requests wait and time out,
and workers x (pool_size + max_overflow) above the server's
max_connections makes PostgreSQL refuse connections. Both look like
trouble under load; neither loses a connection. The report says which it is.
"""

from __future__ import annotations

from leakbench._results import Capacity, PoolStats, Verdict


def assess(
    *,
    workers: int,
    per_worker: int | None,
    max_connections: int | None,
    pool_before: PoolStats | None,
    pool_after: PoolStats | None,
    request_timeouts: int,
) -> Capacity:
    """Gather one row's capacity figures; ``per_worker`` falls back to what the probe saw."""
    if per_worker is None and pool_after is not None:
        per_worker = pool_after.capacity
    pool_timeouts = 0
    if pool_after is not None:
        pool_timeouts = pool_after.timeouts - (pool_before.timeouts if pool_before else 0)
    return Capacity(
        workers=workers,
        per_worker=per_worker,
        max_connections=max_connections,
        pool_timeouts=max(0, pool_timeouts),
        request_timeouts=request_timeouts,
    )


def describe(capacity: Capacity) -> str | None:
    """``2 worker(s) x 12 pooled connections = 24 of max_connections 100``, when known."""
    if capacity.total is None:
        return None
    limit = f" of max_connections {capacity.max_connections}" if capacity.max_connections else ""
    return (
        f"{capacity.workers} worker(s) x {capacity.per_worker} pooled connections "
        f"(pool_size + max_overflow) = {capacity.total}{limit}"
    )


def capacity_reasons(capacity: Capacity, *, verdict: Verdict, pool_seen: bool) -> list[str]:
    """What the capacity figures say about the row, for its reasons.

    "Every connection was back" is said only of a CLEAN row whose pool view is
    known: PostgreSQL alone cannot see a connection kept checked out but idle,
    and an INCONCLUSIVE row is one that cannot be vouched for.
    """
    reasons: list[str] = []
    if capacity.exceeds_server:
        reasons.append(
            f"Capacity: {describe(capacity)}: under enough load PostgreSQL refuses the excess "
            "('too many clients'); lower the pools or the workers, or raise max_connections."
        )
    waits = _waits(capacity)
    if not waits:
        return reasons
    if verdict is Verdict.LEAKED:
        reasons.append(
            f"{waits}: leaked connections shrink the pool until requests wait for it, "
            "so fix the leak first."
        )
        return reasons
    if verdict is not Verdict.CLEAN:
        reasons.append(f"Capacity: {waits}.")
        return reasons
    back = (
        "every connection was back after the settle, by PostgreSQL's count and the pool's"
        if pool_seen
        else "PostgreSQL saw every connection back after the settle (the pool's count is unknown)"
    )
    if capacity.pool_timeouts:
        reasons.append(
            f"Capacity finding, not a leak: {waits}, because the pool was exhausted; {back}."
        )
    else:
        reasons.append(
            f"Capacity finding, not a leak: {waits} (the pool, the workers or the app is too "
            f"slow for this load); {back}."
        )
    return reasons


def _waits(capacity: Capacity) -> str:
    parts = []
    if capacity.pool_timeouts:
        parts.append(f"{capacity.pool_timeouts} checkout(s) timed out waiting for the pool")
    if capacity.request_timeouts:
        parts.append(f"{capacity.request_timeouts} request(s) timed out")
    return " and ".join(parts)
