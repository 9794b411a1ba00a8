"""Connection-leak checks for a user's own tests: the engine of the ``leak_check`` fixture.

Two vantage points, because each misses what the other sees:

* the SQLAlchemy pool: every checkout and checkin of the watched engine is
  counted by pool events, with the first line of the user's code that
  checked the connection out (:mod:`leakbench._targets.sites`, shared with
  the in-target probe of ``leakbench run``); a connection checked out during the test and
  not returned is a leak (``engine.pool.checkedout()`` alone would miss a
  leak once the engine is disposed, which replaces its pool);
* PostgreSQL: pg_stat_activity, read on a separate connection, shows the
  engine's database's connections still idle in a transaction that began
  during the test (older transactions, such as a suite-wide fixture's, are
  not the test's doing).

Both are given a short settle (``settle`` seconds, polled) to come back.
Imported only when a test asks for the fixture, so pytest start-up stays cheap.
"""

from __future__ import annotations

import contextlib
import datetime
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from sqlalchemy import Engine, event
from sqlalchemy.engine import URL
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.pool import Pool

from leakbench._settings.dsn import redact
from leakbench._targets.sites import caller_site

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from leakbench._results import LoadStats

APPLICATION_NAME = "leakbench-pytest"
QUERY_CHARS = 120
_POLL_SECONDS = 0.1
_CONNECT_TIMEOUT_SECONDS = 5
_OPEN_TRANSACTIONS = """
SELECT state, extract(epoch FROM clock_timestamp() - xact_start), left(query, %(chars)s)
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
    AND backend_type = 'client backend'
    AND state IN ('idle in transaction', 'idle in transaction (aborted)')
    AND xact_start >= %(since)s
ORDER BY xact_start
"""


@dataclass(frozen=True, slots=True)
class OpenTransaction:
    """A backend PostgreSQL shows idle inside a transaction the test began."""

    state: str
    seconds: float
    query: str


@dataclass(frozen=True, slots=True)
class Mark:
    """A point in the test after which new checkouts and transactions count."""

    checkouts: int
    server_time: datetime.datetime | None


def _shorten(query: str) -> str:
    flat = " ".join(redact(query).split())
    return flat if len(flat) <= QUERY_CHARS else flat[: QUERY_CHARS - 1] + "…"


def _libpq_params(url: URL) -> dict[str, Any]:
    params: dict[str, Any] = {
        "host": url.host or url.query.get("host"),
        "port": url.port,
        "user": url.username,
        "password": url.password,
        "dbname": url.database,
    }
    return {key: value for key, value in params.items() if value}


class EngineWatch:
    """Counts one engine's checkouts and reads its database's open transactions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.description = engine.url.render_as_string(hide_password=True)
        self._is_postgres = engine.dialect.name == "postgresql"
        self._lock = threading.Lock()
        self._sequence = 0
        # connection record -> (checkout sequence number, where the user's code took it)
        self._outstanding: dict[int, tuple[int, str]] = {}
        self._pools: list[Pool] = [engine.pool]
        event.listen(engine.pool, "checkout", self._on_checkout)
        event.listen(engine.pool, "checkin", self._on_checkin)
        self.start = self.mark()

    def _on_checkout(self, _dbapi: object, record: object, _proxy: object) -> None:
        # The same mechanism as the in-target probe's (leakbench._targets.sites).
        site = str(caller_site())
        with self._lock:
            self._sequence += 1
            self._outstanding[id(record)] = (self._sequence, site)

    def _on_checkin(self, _dbapi: object, record: object) -> None:
        with self._lock:
            self._outstanding.pop(id(record), None)

    def close(self) -> None:
        """Stop listening, on the original pool and on its replacement after a dispose()."""
        pools = [*self._pools, self.engine.pool]
        for pool in {id(p): p for p in pools}.values():
            for name, listener in (("checkout", self._on_checkout), ("checkin", self._on_checkin)):
                with contextlib.suppress(InvalidRequestError):
                    event.remove(pool, name, listener)

    def mark(self) -> Mark:
        with self._lock:
            checkouts = self._sequence
        server_time = None
        if self._is_postgres:
            with self._connect() as conn:
                row = conn.execute("SELECT clock_timestamp()").fetchone()
            server_time = row[0] if row else None
        return Mark(checkouts, server_time)

    def checked_out_since(self, mark: Mark) -> list[str]:
        """Where each connection checked out after ``mark`` and not returned was taken."""
        with self._lock:
            return [site for seq, site in self._outstanding.values() if seq > mark.checkouts]

    def open_transactions_since(self, mark: Mark) -> list[OpenTransaction]:
        if mark.server_time is None:
            return []
        with self._connect() as conn:
            rows = conn.execute(
                _OPEN_TRANSACTIONS, {"since": mark.server_time, "chars": QUERY_CHARS * 2}
            ).fetchall()
        return [
            OpenTransaction(str(state), float(str(age or 0)), _shorten(str(query or "")))
            for state, age, query in rows
        ]

    @contextlib.contextmanager
    def _connect(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        params = _libpq_params(self.engine.url)
        try:
            conn = psycopg.connect(
                autocommit=True,
                connect_timeout=_CONNECT_TIMEOUT_SECONDS,
                application_name=APPLICATION_NAME,
                **params,
            )
        except psycopg.OperationalError as exc:
            message = redact(str(exc)).strip().splitlines()[0]
            raise RuntimeError(
                f"leakbench could not connect to {self.description} to read pg_stat_activity: "
                f"{message}"
            ) from None
        with conn:
            yield conn


def _pool_finding(watch: EngineWatch, sites: list[str]) -> str:
    places = ", ".join(
        f"{site} ({count}x)" if count > 1 else site for site, count in Counter(sites).most_common(3)
    )
    return (
        f"engine {watch.description}: {len(sites)} connection(s) checked out "
        f"and never returned to the pool (taken at {places})"
    )


def _server_finding(watch: EngineWatch, transactions: list[OpenTransaction]) -> str:
    states = Counter(t.state for t in transactions)
    counts = ", ".join(f"{count} {state}" for state, count in sorted(states.items()))
    oldest = transactions[0]
    return (
        f"PostgreSQL, database {watch.engine.url.database}: {counts}; "
        f"the oldest transaction is {oldest.seconds:.1f} s old, last query: {oldest.query}"
    )


class LeakCheck:
    """What the ``leak_check`` fixture returns: call it with an engine to watch."""

    def __init__(self, settle: float = 1.0) -> None:
        self.settle = settle
        self._watches: dict[int, EngineWatch] = {}

    def __call__(self, engine: Engine | AsyncEngine) -> LeakCheck:
        """Watch ``engine`` (or an AsyncEngine's sync engine) from now to the end of the test."""
        sync_engine: object = getattr(engine, "sync_engine", engine)
        if not isinstance(sync_engine, Engine):
            raise TypeError(
                f"leak_check() takes a SQLAlchemy Engine or AsyncEngine, not "
                f"{type(engine).__name__}; pass the engine your app uses."
            )
        if id(sync_engine) not in self._watches:
            self._watches[id(sync_engine)] = EngineWatch(sync_engine)
        return self

    @property
    def watching(self) -> bool:
        return bool(self._watches)

    def findings(self, marks: dict[int, Mark] | None = None) -> list[str]:
        """What is still leaked after the settle, one sentence per vantage point; [] when clean."""
        deadline = time.monotonic() + self.settle
        while True:
            found: list[str] = []
            for key, watch in self._watches.items():
                mark = (marks or {}).get(key, watch.start)
                sites = watch.checked_out_since(mark)
                if sites:
                    found.append(_pool_finding(watch, sites))
                transactions = watch.open_transactions_since(mark)
                if transactions:
                    found.append(_server_finding(watch, transactions))
            if not found or time.monotonic() >= deadline:
                return found
            time.sleep(_POLL_SECONDS)

    def marks(self) -> dict[int, Mark]:
        return {key: watch.mark() for key, watch in self._watches.items()}

    def drive(
        self,
        app: object,
        endpoint: str = "GET /",
        *,
        requests: int = 100,
        concurrency: int = 10,
        json: object = None,
        server: str = "asgi",
        timeout: float = 30.0,
    ) -> LoadStats:
        """Send ``requests`` requests, ``concurrency`` at a time, then fail the test on a leak.

        ``app`` is an ASGI app or its import string. ``server="asgi"`` calls it
        in-process through httpx2's ASGI transport (no lifespan, like httpx2);
        ``server="uvicorn"`` serves it with a real uvicorn on 127.0.0.1 in a
        thread. Only what the load leaves behind fails here; the rest of the
        test is checked at its end as usual. Returns the load's figures.
        """
        from leakbench.pytest_plugin.asgi_load import LoadRequest, run  # noqa: PLC0415 - only when used

        if not self._watches:
            raise RuntimeError(
                "leak_check.drive() needs an engine to watch; call leak_check(engine) first."
            )
        load = LoadRequest.build(app, endpoint, requests, concurrency, json, server, timeout)
        before = self.marks()
        stats = run(load)
        found = self.findings(before)
        if found:
            import pytest  # noqa: PLC0415 - the fixture's module is pytest's; this one need not be

            pytest.fail(failure_message(found, during=f"{stats.completed} requests"), pytrace=False)
        return stats

    def close(self) -> None:
        for watch in self._watches.values():
            watch.close()
        self._watches.clear()


def failure_message(findings: list[str], *, during: str) -> str:
    lines = [f"leakbench: database connections leaked by {during}:"]
    lines += [f"  {finding}" for finding in findings]
    return "\n".join(lines)
