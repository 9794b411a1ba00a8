"""Typed, immutable results of a run: samples, load figures, verdicts.

These are the single source for every output (table, JSON, and the other
report formats); nothing renders from anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from leakbench._results._load import ExternalLoad, LatencySummary, LoadStats, RouteStats
from leakbench._results._recorded import RunSettings, Versions
from leakbench._results._sites import CheckoutSite, EngineSite, MadeEngines, Reclaims

__all__ = [
    "ActivitySample",
    "BackendDetail",
    "Capacity",
    "CheckoutSite",
    "EngineSite",
    "ExternalLoad",
    "Findings",
    "LatencySummary",
    "LeakKind",
    "LoadStats",
    "MadeEngines",
    "MatrixColumn",
    "MatrixResult",
    "OldestTransaction",
    "Phase",
    "PoolStats",
    "Reclaims",
    "RouteStats",
    "RowResult",
    "RunResult",
    "RunSettings",
    "SessionEnds",
    "Verdict",
    "Versions",
    "WaitEventCount",
]


class Phase(StrEnum):
    """When a pg_stat_activity sample was taken, relative to a row's load."""

    BASELINE = "baseline"
    LOAD = "load"
    SETTLE = "settle"
    FINAL = "final"
    AFTER_GC = "after_gc"


class Verdict(StrEnum):
    """The judgement on one row, and on a whole run."""

    CLEAN = "CLEAN"
    LEAKED = "LEAKED"
    INCONCLUSIVE = "INCONCLUSIVE"
    FAILED = "FAILED"
    INTERRUPTED = "INTERRUPTED"


class LeakKind(StrEnum):
    """Why leaked connections were still held after the settle."""

    NONE = "none"
    # Open transactions that survive a forced garbage collection.
    HELD_BY_REFERENCE = "held_by_reference"
    # Connections a forced garbage collection gave back.
    AWAITING_GC = "awaiting_gc"
    # Checked out of the pool for good (surviving a forced collection) while
    # PostgreSQL shows them idle, outside any transaction: only the pool sees them.
    CHECKED_OUT_IDLE = "checked_out_idle"
    # Still checked out by psycopg_pool's count after a forced collection, while the target's
    # database has fewer sessions than that: closed, yet counted in the pool's pool_size.
    LOST_BY_POOL = "lost_by_pool"
    # Engines (each with its pool) made during the load and never disposed: their
    # connections stay open until the engine is collected, and grow with the requests.
    ENGINES_NOT_DISPOSED = "engines_not_disposed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class OldestTransaction:
    """The backend whose transaction is oldest, as pg_stat_activity shows it."""

    seconds: float
    state: str
    # The last statement it ran, truncated (pg_stat_activity.query).
    query: str
    wait_event: str | None = None
    application_name: str = ""


@dataclass(frozen=True, slots=True)
class WaitEventCount:
    """How many backends in ``state`` wait on ``wait_event`` ("Type:Event", or "none")."""

    state: str
    wait_event: str
    count: int


@dataclass(frozen=True, slots=True)
class BackendDetail:
    """The costly fields, read only for the final and after-collection snapshots."""

    oldest_transaction: OldestTransaction | None = None
    wait_events: tuple[WaitEventCount, ...] = ()
    # "pid:xact_start" of each backend active or idle in transaction: a transaction
    # still open after a forced collection is the same one, not a new one.
    open_transactions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ActivitySample:
    """One look at pg_stat_activity for the target's database."""

    t: float
    phase: Phase
    active: int = 0
    idle: int = 0
    idle_in_transaction: int = 0
    idle_in_transaction_aborted: int = 0
    other: int = 0
    oldest_transaction_seconds: float | None = None
    detail: BackendDetail | None = None

    @property
    def total(self) -> int:
        return (
            self.active
            + self.idle
            + self.idle_in_transaction
            + self.idle_in_transaction_aborted
            + self.other
        )

    @property
    def in_transaction(self) -> int:
        """Connections idle inside an open transaction, aborted or not."""
        return self.idle_in_transaction + self.idle_in_transaction_aborted


@dataclass(frozen=True, slots=True)
class PoolStats:
    """The app-side view: SQLAlchemy pool events counted inside the target, and
    psycopg_pool's own figures read there."""

    connects: int = 0
    checkouts: int = 0
    checkins: int = 0
    # Connections taken out of the pool for good (Connection.detach()).
    detaches: int = 0
    invalidations: int = 0
    closes: int = 0
    # Checkouts that gave up waiting for a free connection (pool exhausted).
    timeouts: int = 0
    # pool_size + max_overflow of one worker's QueuePools; None if unknown or unbounded.
    capacity: int | None = None
    # pool_size of one worker's QueuePools: the most they keep idle; None if unknown.
    idle_capacity: int | None = None
    # Checkouts ended because their holder was garbage collected, not returned or closed.
    reclaimed: int = 0
    # Pools made in the target (one per engine, one more per engine.dispose()).
    pools_made: int = 0
    # psycopg_pool's own pools alive in the target (an app without SQLAlchemy), and their
    # own figures (get_stats()), summed: pool_size - pool_available, which counts a
    # connection the pool lost for good, and the requests waiting for a connection.
    psycopg_pools: int = 0
    psycopg_checked_out: int = 0
    psycopg_waiting: int = 0

    @property
    def checked_out(self) -> int:
        """Checked out of every pool: SQLAlchemy's by its events, psycopg_pool's by its own
        figures."""
        return self.checkouts - self.checkins - self.detaches + self.psycopg_checked_out

    @property
    def seen(self) -> bool:
        """Whether the target has a pool at all: the probe answers as soon as SQLAlchemy is
        importable, and an app on psycopg_pool's own pool has made no SQLAlchemy pool."""
        return self.pools_made > 0 or self.checkouts > 0 or self.psycopg_pools > 0

    @property
    def kind(self) -> str:
        """The pools seen: ``SQLAlchemy``, ``psycopg_pool``, or both joined by ``and``."""
        if not self.psycopg_pools:
            return "SQLAlchemy"
        both = self.pools_made > 0 or self.checkouts > 0
        return "SQLAlchemy and psycopg_pool" if both else "psycopg_pool"


@dataclass(frozen=True, slots=True)
class PoolReading:
    """The target's pools' checked-out count, read ``t`` seconds into the row."""

    t: float
    checked_out: int


@dataclass(frozen=True, slots=True)
class SessionEnds:
    """Sessions of the database that the server ended during a row (pg_stat_database, PG 14+)."""

    # Ended by a FATAL error: idle_in_transaction_session_timeout and idle_session_timeout do this.
    fatal: int = 0
    # Ended by an operator, e.g. pg_terminate_backend().
    killed: int = 0
    # The client vanished without closing its connection.
    abandoned: int = 0

    @property
    def terminated(self) -> int:
        """Sessions the server ended, rather than the app closing them."""
        return self.fatal + self.killed


@dataclass(frozen=True, slots=True)
class Capacity:
    """Connections the target's pools may open, against the server's limit, and pool waits."""

    workers: int
    # pool_size + max_overflow of one worker; None when unknown or unbounded.
    per_worker: int | None
    max_connections: int | None
    # Checkouts that timed out waiting for the pool (counted by the in-target probe).
    pool_timeouts: int = 0
    # Requests leakbench gave up on after --request-timeout.
    request_timeouts: int = 0

    @property
    def total(self) -> int | None:
        return None if self.per_worker is None else self.workers * self.per_worker

    @property
    def exceeds_server(self) -> bool:
        total, limit = self.total, self.max_connections
        return total is not None and limit is not None and total > limit


@dataclass(frozen=True, slots=True)
class Findings:
    """The pure analysis of a row's samples: peaks, residue and the verdict."""

    verdict: Verdict
    reasons: tuple[str, ...]
    baseline: ActivitySample
    after_settle: ActivitySample
    peak_idle_in_transaction: int
    peak_active: int
    peak_total_connections: int
    peak_oldest_transaction_seconds: float | None
    settled: bool
    settle_seconds: float
    leaked_connections: int
    leak_kind: LeakKind = LeakKind.NONE
    after_gc: ActivitySample | None = None
    sample_gaps: int = 0
    # None when the server does not expose session ends (before PostgreSQL 14).
    session_ends: SessionEnds | None = None
    capacity: Capacity | None = None
    # Connections the pools still had checked out after the settle beyond the
    # baseline; None when the pool view is unknown (attach mode, no SQLAlchemy).
    pool_leaked_connections: int | None = None
    # The same after the forced garbage collection (None if none was forced).
    pool_leaked_after_gc: int | None = None
    # Transactions in the target's database during the row (leakbench's own
    # excluded, from pg_stat_database; a lower bound, flushed lazily) and pool
    # checkouts in the target; None if unknown.
    database_transactions: int | None = None
    pool_checkouts: int | None = None
    # The target's live connections that ran a statement during the row
    # (pg_stat_activity.query_start) and sessions opened to its database; None if unknown.
    connections_used: int | None = None
    new_sessions: int | None = None
    # Where the connections still checked out after the collection were taken.
    leak_sites: tuple[CheckoutSite, ...] = ()
    # Checkouts the garbage collector ended during the load and the settle; None when unknown.
    reclaims: Reclaims | None = None
    # Engines made during the row that were still alive after the settle; None when unknown.
    made_engines: MadeEngines | None = None
    # Where connections still checked out after the settle were taken by requests still in
    # flight (waiting for the pool when the settle ended): the app returned them since.
    in_flight_sites: tuple[CheckoutSite, ...] = ()


@dataclass(frozen=True, slots=True)
class RowResult:
    """One (target, endpoint) row of the comparison table; ``target`` names a scenario or an app."""

    target: str
    endpoint: str
    verdict: Verdict
    load: LoadStats | None
    findings: Findings | None
    samples: tuple[ActivitySample, ...] = ()
    pool_after_settle: PoolStats | None = None
    error: str | None = None
    # The same counters before the load, so a checked-out count can be compared.
    pool_baseline: PoolStats | None = None
    # True when the target never came up, so its other rows were not attempted.
    start_failed: bool = False
    # The pool after the forced garbage collection, when one was forced.
    pool_after_gc: PoolStats | None = None
    # The row's load came from another tool (watch, --load-command, Locust), not the driver.
    external: ExternalLoad | None = None
    # The target's exit code when it died during the row (killed, crashed); None if it lived.
    target_exit_code: int | None = None
    # What the reader must know of how the row ran (--all-routes: a fresh target after a
    # leak, or why a route was not exercised).
    note: str | None = None
    # Connections the pool still had checked out, above its baseline, when the load
    # ended: handlers still running after their client left (None: no pool view, or
    # no client left early).
    handlers_after_load: int | None = None
    # The pools' checked-out count read during the load (never during the settle, where a
    # read could set off the collection that hides a leak); the baseline, after-settle
    # and after-collection counts are the pool_* fields above.
    pool_readings: tuple[PoolReading, ...] = ()
    # The drivers and pool classes the app's engines used, as its probe read them.
    drivers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RunResult:
    """The outcome of ``leakbench run``: every row, the versions and the settings."""

    rows: tuple[RowResult, ...]
    versions: Versions
    settings: RunSettings
    started_at: str = ""
    finished_at: str = ""
    interrupted: bool = False
    warnings: tuple[str, ...] = ()
    # One column of ``leakbench matrix``: (package, version asked) pairs; empty for ``run``.
    combination: tuple[tuple[str, str], ...] = ()

    @property
    def verdict(self) -> Verdict:
        """The run's verdict, as :func:`leakbench._verdict.outcome.run_verdict` decides it."""
        # Imported here: the verdict stage sits above the results it judges.
        from leakbench._verdict.outcome import run_verdict  # noqa: PLC0415

        return run_verdict(self)


@dataclass(frozen=True, slots=True)
class MatrixColumn:
    """One combination of versions in ``leakbench matrix``: its environment and its run."""

    # The versions asked, (package, version) pairs in axis order ("latest" when unpinned).
    combination: tuple[tuple[str, str], ...]
    # What the environment holds: (package, version) pairs, sorted by name.
    packages: tuple[tuple[str, str], ...]
    environment_reused: bool
    environment_seconds: float
    # The run of the targets that apply; None when none does (or the run never started).
    result: RunResult | None
    # Targets not run in this column, and why: (target name, reason).
    not_applicable: tuple[tuple[str, str], ...] = ()
    # The folder, under the matrix's report folder, holding this column's reports.
    report_folder: str = ""

    @property
    def label(self) -> str:
        return ", ".join(f"{package} {version}" for package, version in self.combination)

    def installed(self, package: str) -> str | None:
        return dict(self.packages).get(package)

    def row(self, target: str, endpoint: str) -> RowResult | None:
        if self.result is None:
            return None
        for row in self.result.rows:
            if row.target == target and row.endpoint == endpoint:
                return row
        return None

    def why_not_applicable(self, pattern: str) -> str | None:
        return dict(self.not_applicable).get(pattern)


@dataclass(frozen=True, slots=True)
class MatrixResult:
    """The outcome of ``leakbench matrix``: the rows, and one column per combination."""

    # (pattern, endpoint label) in run order; every column is asked about each.
    rows: tuple[tuple[str, str], ...]
    columns: tuple[MatrixColumn, ...]
    started_at: str = ""
    finished_at: str = ""
    interrupted: bool = False
