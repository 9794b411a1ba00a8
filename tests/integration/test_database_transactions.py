"""The database's transaction count proves exercise: leakbench's own poller is never
counted (it sits in another database, moving out of the target's in attach mode), and
every transaction of the app is, on real PostgreSQL.
"""

from __future__ import annotations

import time

import psycopg
import pytest

from leakbench._postgres import admin
from leakbench._postgres.poller import POLLER_APPLICATION_NAME, ActivityPoller, activity_poller
from leakbench._results import Phase
from leakbench._settings import dsn as dsn_tools

# PostgreSQL holds a busy backend's statistics back for up to a second, an idle one's for
# up to 10 s (PGSTAT_IDLE_INTERVAL); a closing backend flushes them at once.
_FLUSH_WAIT_SECONDS = 15.0
# Besides its statements, a backend's start-up (and exit) may count a transaction each.
_SESSION_OVERHEAD = 3


def app_transactions(database_dsn: str, count: int) -> None:
    """An app's connection: ``count`` autocommit statements, then it closes."""
    with psycopg.connect(database_dsn, autocommit=True) as conn:
        for _ in range(count):
            conn.execute("SELECT 1")


@pytest.mark.parametrize("dsn_names_the_target", [False, True], ids=["run", "attach"])
def test_the_poller_counts_the_apps_transactions_and_never_its_own(
    embedded_dsn: str, owned_database: str, dsn_names_the_target: bool
) -> None:
    database_dsn = dsn_tools.with_database(embedded_dsn, owned_database)
    # In attach mode the DSN names the target's database: the poller moves out of it.
    poller_dsn = database_dsn if dsn_names_the_target else embedded_dsn
    with activity_poller(poller_dsn, owned_database, interval=0.02) as poller:
        before = _settled_count(poller)
        # About 50 samples a second of the poller's own, and session-end reads besides.
        time.sleep(1.5)
        for _ in range(5):
            poller.snapshot(Phase.LOAD)
            poller.session_ends()
        idle = poller.transactions()
        app_transactions(database_dsn, 7)
        deadline = time.monotonic() + _FLUSH_WAIT_SECONDS
        after = poller.transactions()
        while after is not None and idle is not None and after - idle < 7:
            assert time.monotonic() < deadline, f"only {after - idle} of 7 transactions seen"
            time.sleep(0.2)
            after = poller.transactions()
        assert POLLER_APPLICATION_NAME not in sessions_of(embedded_dsn, owned_database)
    assert before is not None and idle is not None and after is not None
    assert idle - before == 0
    assert 7 <= after - idle <= 7 + _SESSION_OVERHEAD


def _settled_count(poller: ActivityPoller) -> int | None:
    """The database's transaction count once the sessions that just ended have flushed theirs.

    In attach mode the poller's first connection is to the target's database; its start
    and exit count there, flushed as it closes, a moment later on a busy machine.
    """
    deadline = time.monotonic() + 5.0
    count = poller.transactions()
    while time.monotonic() < deadline:
        time.sleep(0.3)
        again = poller.transactions()
        if again == count:
            break
        count = again
    return count


def sessions_of(admin_dsn: str, database: str) -> list[str]:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT application_name FROM pg_stat_activity WHERE datname = %s", (database,)
        ).fetchall()
    return [str(row[0]) for row in rows]


def test_a_poller_that_must_sit_in_the_target_database_does_not_count(
    embedded_dsn: str, owned_database: str
) -> None:
    # Its own statements would be among the transactions, and PostgreSQL flushes them lazily.
    database_dsn = dsn_tools.with_database(embedded_dsn, owned_database)
    with ActivityPoller(lambda: admin.connect(database_dsn), owned_database, 0.1) as poller:
        assert poller.snapshot(Phase.LOAD) is not None
        assert poller.transactions() is None


def test_a_watched_application_name_makes_the_count_unknown(
    embedded_dsn: str, owned_database: str
) -> None:
    # pg_stat_database counts every client of the database, not the one application watched.
    with activity_poller(embedded_dsn, owned_database, 0.1, application_name="app") as poller:
        assert poller.transactions() is None
