"""The probe's pool counters: a checkout that failed before it completed is no checkin."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import event
from sqlalchemy.pool import QueuePool

from leakbench._targets.pool_counters import PoolCounters


def test_a_reconnect_that_failed_leaves_the_checked_out_count_at_zero() -> None:
    # A pooled connection that was invalidated (its query cancelled when the client
    # left, say) reconnects at its next checkout; when that fails, SQLAlchemy sends
    # "checkin" (_ConnectionRecord.checkout's _checkin_failed) with no "checkout" first.
    attempts = iter([None, ConnectionRefusedError("refused"), None])

    def creator() -> sqlite3.Connection:
        failure = next(attempts)
        if failure is not None:
            raise failure
        return sqlite3.connect(":memory:")

    pool = QueuePool(creator, pool_size=1, max_overflow=0)
    counters = PoolCounters()
    event.listen(
        pool, "checkout", lambda _dbapi, record, proxy: counters.checked_out(record, proxy)
    )
    event.listen(pool, "checkin", lambda _dbapi, record: counters.checked_in(record))
    first = pool.connect()
    first.invalidate()
    first.close()
    assert counters.counts["checkout"] == counters.counts["checkin"] == 1
    with pytest.raises(ConnectionRefusedError):
        pool.connect()
    assert counters.counts["checkout"] == counters.counts["checkin"] == 1
    connection = pool.connect()
    assert counters.counts["checkout"] - counters.counts["checkin"] == 1
    connection.close()
    assert counters.counts["checkout"] == counters.counts["checkin"] == 2
    pool.dispose()
