"""Sampling pg_stat_activity for one database, on a connection of our own.

The poller runs in a thread with its own connection to the server's
maintenance database, so it never appears among the target's connections,
and filters on the target's database name, so no other database counts.
A failed query is counted as a gap and the poller reconnects; the analysis
turns too many gaps into an INCONCLUSIVE verdict rather than a guess.

The 10 Hz samples only count states. The final and after-collection
snapshots also read the costly fields (the oldest transaction's query and
the wait events), once each per row.

Whether requests reached the database is read from the database: the
target's live connections that ran a statement during the row
(pg_stat_activity.query_start), the sessions opened to it (pg_stat_database),
and, as a figure, its transaction count. Every query the poller runs is itself a transaction
of the database it is connected to: the server's maintenance database, never
the target's, so none is counted (in attach mode the runner moves it out of
the target's database). When it must sit in the target's database, the count
is unknown: PostgreSQL flushes a backend's statistics lazily (measured: even
after ``pg_stat_force_next_flush()``, dozens of the poller's own statements
were still missing), so its own statements cannot be subtracted exactly.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator

import psycopg

from leakbench._postgres import admin
from leakbench._results import (
    ActivitySample,
    BackendDetail,
    OldestTransaction,
    Phase,
    SessionEnds,
    WaitEventCount,
)
from leakbench._settings import dsn as dsn_tools
from leakbench._settings.dsn import redact
from leakbench.errors import LeakbenchError

# The target's connections: its database, optionally one application_name,
# never this poller nor any other leakbench session (they are all named
# leakbench..., which matters in attach mode, where they share the database).
_TARGET_BACKENDS = """
FROM pg_stat_activity
WHERE datname = %(database)s AND pid <> pg_backend_pid() AND backend_type = 'client backend'
    AND application_name NOT LIKE 'leakbench%%'
    AND (%(application_name)s::text IS NULL OR application_name = %(application_name)s)
"""

ACTIVITY_QUERY = f"""
SELECT
    count(*) FILTER (WHERE state = 'active'),
    count(*) FILTER (WHERE state = 'idle'),
    count(*) FILTER (WHERE state = 'idle in transaction'),
    count(*) FILTER (WHERE state = 'idle in transaction (aborted)'),
    count(*) FILTER (WHERE state IS NULL OR state NOT IN
        ('active', 'idle', 'idle in transaction', 'idle in transaction (aborted)')),
    extract(epoch FROM max(clock_timestamp() - xact_start))
{_TARGET_BACKENDS}
"""

# Longer queries are cut to this many characters in reports.
QUERY_TEXT_CHARS = 200
DETAIL_QUERY = f"""
SELECT state, coalesce(wait_event_type || ':' || wait_event, 'none'),
    extract(epoch FROM clock_timestamp() - xact_start),
    left(query, {QUERY_TEXT_CHARS + 1}), application_name,
    pid || ':' || extract(epoch FROM xact_start)
{_TARGET_BACKENDS}
    AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')
ORDER BY xact_start NULLS LAST
"""
_DETAILED_PHASES = frozenset({Phase.FINAL, Phase.AFTER_GC})

# pg_stat_database counts how sessions ended from PostgreSQL 14 on.
SESSION_ENDS_QUERY = """
SELECT sessions_fatal, sessions_killed, sessions_abandoned
FROM pg_stat_database WHERE datname = %s
"""
_SESSION_ENDS_SINCE = 140000
TRANSACTIONS_QUERY = """
SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s
"""
# Sessions opened to the database so far (PostgreSQL 14+): flushed by a new
# backend at once, unlike its transaction counts.
SESSIONS_QUERY = "SELECT sessions FROM pg_stat_database WHERE datname = %s"
# The target's live connections that ran a statement since a moment (server time):
# pg_stat_activity updates query_start at once, with no statistics flush to wait for.
RAN_SINCE_QUERY = f"""
SELECT count(*)
{_TARGET_BACKENDS}
    AND query_start >= %(since)s::timestamptz
"""

Connector = Callable[[], psycopg.Connection[tuple[object, ...]]]


class ActivityPoller:
    """Samples the target database's connections every ``interval`` seconds."""

    def __init__(
        self,
        connect: Connector,
        database: str,
        interval: float,
        application_name: str | None = None,
    ) -> None:
        self._connect = connect
        self.database = database
        self.interval = interval
        self._params = {"database": database, "application_name": application_name}
        self.phase = Phase.BASELINE
        self.gaps = 0
        self._samples: list[ActivitySample] = []
        self._origin = time.monotonic()
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> ActivityPoller:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="leakbench-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            if self._conn is not None:
                with contextlib.suppress(psycopg.Error):
                    self._conn.close()
                self._conn = None

    def restart_clock(self) -> None:
        """Start a new row: forget samples and gaps, time from now."""
        with self._lock:
            self._samples.clear()
            self.gaps = 0
            self._origin = time.monotonic()

    def elapsed(self) -> float:
        """Seconds since the row's clock started, as the samples' ``t`` counts them."""
        return round(time.monotonic() - self._origin, 3)

    def samples(self) -> tuple[ActivitySample, ...]:
        with self._lock:
            return tuple(self._samples)

    def latest(self) -> ActivitySample | None:
        with self._lock:
            return self._samples[-1] if self._samples else None

    def snapshot(self, phase: Phase) -> ActivitySample | None:
        """Take one sample now, outside the polling rhythm, and keep it.

        Final and after-collection snapshots also carry a :class:`BackendDetail`.
        """
        with self._lock:
            return self._sample_locked(phase, detailed=phase in _DETAILED_PHASES)

    def session_ends(self) -> SessionEnds | None:
        """The database's cumulative session-end counters, or None before PostgreSQL 14."""
        with self._lock:
            try:
                conn = self._connection()
                if conn.info.server_version < _SESSION_ENDS_SINCE:
                    return None
                row = conn.execute(SESSION_ENDS_QUERY, (self.database,)).fetchone()
            except Exception:  # the counters are a bonus; never fail the row for them
                self._drop_connection()
                return None
        if row is None:
            return None
        fatal, killed, abandoned = (int(str(value or 0)) for value in row)
        return SessionEnds(fatal=fatal, killed=killed, abandoned=abandoned)

    def server_started_at(self) -> str | None:
        """When the server's postmaster started, to tell a restart; None when unreadable."""
        with self._lock:
            try:
                row = self._connection().execute("SELECT pg_postmaster_start_time()").fetchone()
            except Exception:  # a failed look is a gap in the evidence, not a crash
                self._drop_connection()
                return None
        return str(row[0]) if row else None

    def transactions(self) -> int | None:
        """Transactions committed or rolled back in the target's database so far; None when
        unreadable, or when the poller's own statements would be among them.

        None too when the poller watches one application_name: the database's
        count covers every client, not only the one watched.
        """
        if self._params["application_name"] is not None:
            return None
        with self._lock:
            try:
                conn = self._connection()
                if conn.info.dbname == self.database:
                    return None
                row = conn.execute(TRANSACTIONS_QUERY, (self.database,)).fetchone()
            except Exception:  # a lost reading is unknown evidence, never a crash
                self._drop_connection()
                return None
        if row is None or row[0] is None:
            return None
        return int(str(row[0]))

    def sessions(self) -> int | None:
        """Sessions opened to the target's database so far; None before PostgreSQL 14,
        when unreadable, or when the poller watches one application_name."""
        if self._params["application_name"] is not None:
            return None
        with self._lock:
            try:
                conn = self._connection()
                if conn.info.server_version < _SESSION_ENDS_SINCE:
                    return None
                row = conn.execute(SESSIONS_QUERY, (self.database,)).fetchone()
            except Exception:  # unknown evidence, never a crash
                self._drop_connection()
                return None
        return int(str(row[0])) if row is not None and row[0] is not None else None

    def server_now(self) -> str | None:
        """The server's clock, to ask later which connections ran a statement since."""
        with self._lock:
            try:
                row = self._connection().execute("SELECT clock_timestamp()::text").fetchone()
            except Exception:  # unknown evidence, never a crash
                self._drop_connection()
                return None
        return str(row[0]) if row else None

    def ran_since(self, since: str) -> int | None:
        """How many of the target's live connections ran a statement since ``since``."""
        with self._lock:
            try:
                params = {**self._params, "since": since}
                row = self._connection().execute(RAN_SINCE_QUERY, params).fetchone()
            except Exception:  # unknown evidence, never a crash
                self._drop_connection()
                return None
        return int(str(row[0])) if row is not None else None

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def _drop_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            with self._lock:
                self._sample_locked(self.phase)
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def _sample_locked(self, phase: Phase, *, detailed: bool = False) -> ActivitySample | None:
        try:
            conn = self._connection()
            row = conn.execute(ACTIVITY_QUERY, self._params).fetchone()
            detail = None
            if detailed:
                detail = _detail(conn.execute(DETAIL_QUERY, self._params).fetchall())
        except Exception:  # any failure is a gap, never a crash
            self.gaps += 1
            self._drop_connection()
            return None
        assert row is not None
        counts = [int(str(value)) for value in row[:5]]
        age = float(str(row[5])) if row[5] is not None else None
        sample = ActivitySample(
            t=round(time.monotonic() - self._origin, 3),
            phase=phase,
            active=counts[0],
            idle=counts[1],
            idle_in_transaction=counts[2],
            idle_in_transaction_aborted=counts[3],
            other=counts[4],
            oldest_transaction_seconds=round(age, 3) if age is not None else None,
            detail=detail,
        )
        self._samples.append(sample)
        return sample


def _detail(rows: list[tuple[object, ...]]) -> BackendDetail:
    """Wait events counted per state, and the oldest transaction (rows come oldest first)."""
    counts: Counter[tuple[str, str]] = Counter()
    oldest: OldestTransaction | None = None
    open_transactions: list[str] = []
    for state, wait_event, age, query, application_name, transaction in rows:
        counts[str(state), str(wait_event)] += 1
        if transaction is not None:
            open_transactions.append(str(transaction))
        if oldest is None and age is not None:
            oldest = OldestTransaction(
                seconds=round(float(str(age)), 3),
                state=str(state),
                query=_shorten(redact(str(query or ""))),
                wait_event=None if wait_event == "none" else str(wait_event),
                application_name=str(application_name or ""),
            )
    waits = tuple(
        WaitEventCount(state=state, wait_event=event, count=count)
        for (state, event), count in sorted(counts.items())
    )
    return BackendDetail(
        oldest_transaction=oldest,
        wait_events=waits,
        open_transactions=tuple(sorted(open_transactions)),
    )


def _shorten(query: str) -> str:
    flat = " ".join(query.split())
    return flat if len(flat) <= QUERY_TEXT_CHARS else flat[: QUERY_TEXT_CHARS - 1] + "…"


# How the poller's own connection shows in pg_stat_activity (it is never counted).
POLLER_APPLICATION_NAME = "leakbench-poller"
# Where the poller sits when the DSN names the target's database (attach mode).
_ELSEWHERE = ("postgres", "template1")


@contextlib.contextmanager
def activity_poller(
    admin_dsn: str, database: str, interval: float, application_name: str | None = None
) -> Iterator[ActivityPoller]:
    """A running poller of ``database`` (optionally one application_name) on its own connection."""
    dsn = _outside(admin_dsn, database)
    poller = ActivityPoller(
        lambda: admin.connect(dsn, application_name=POLLER_APPLICATION_NAME),
        database,
        interval,
        application_name=application_name,
    )
    with poller:
        yield poller


def _outside(dsn: str, database: str) -> str:
    """``dsn``, moved to another database of the server when it points at ``database``.

    Every statement the poller runs is a transaction of the database it is
    connected to, and the target's transactions prove that requests reached
    it: in attach mode the DSN names the target's own database, so the poller
    moves out when the server lets it (else the count is left unknown).
    """
    with admin.connect(dsn, application_name=POLLER_APPLICATION_NAME) as conn:
        if conn.info.dbname != database:
            return dsn
    for elsewhere in _ELSEWHERE:
        candidate = dsn_tools.with_database(dsn, elsewhere)
        try:
            with admin.connect(candidate, application_name=POLLER_APPLICATION_NAME):
                return candidate
        except LeakbenchError:
            continue
    return dsn
