"""Target applications that leakbench knows by name.

Each scenario is a small FastAPI + SQLModel app in its own module. This
registry only names them; it imports no web framework, so ``leakbench
scenarios`` stays fast.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Expectation = Literal["CLEAN", "LEAKED"]
# Why a LEAKED scenario's connections are still held (leakbench's LeakKind values).
LeakKindName = Literal[
    "held_by_reference", "awaiting_gc", "checked_out_idle", "engines_not_disposed"
]


# The oldest stack every scenario runs on, measured with `leakbench matrix`: FastAPI 0.94
# rejects the routes' Annotated dependencies, and next to SQLAlchemy 2.0.0 the resolver
# picks SQLModel 0.0.18, which fails to import. FastAPI 0.95.2 and SQLAlchemy 2.0.14 work.
STACK = (("fastapi", ">=0.95"), ("sqlalchemy", ">=2.0.14"))
# What leakbench matrix's driver axis sets for the targets: the sync engine's DBAPI driver.
DRIVER_ENV = "LEAKBENCH_DRIVER"
# The scenarios whose sessions go through the shared sync engine can follow the driver axis;
# the async and raw psycopg ones run on psycopg 3 only.
SYNC_DRIVERS = ("psycopg", "psycopg2")
# `Depends(..., scope=...)` is new in FastAPI 0.121 (fastapi/fastapi#14262).
SCOPE_STACK = (*STACK, ("fastapi", ">=0.121"))


@dataclass(frozen=True, slots=True)
class Scenario:
    """A shipped target app and the verdict it is known to deserve."""

    name: str
    module: str
    summary: str
    expected: Expectation
    endpoints: tuple[str, ...] = ("/ok", "/error")
    # A weighted mix judged as one more row ("WEIGHT METHOD /path", as --mix takes it).
    mix: tuple[str, ...] = ()
    twin: str | None = None
    leak_kind: LeakKindName | None = None
    # Versions the scenario needs, (package, specifier) pairs: ``leakbench matrix``
    # shows "n/a" in the columns that do not meet them.
    requires: tuple[tuple[str, str], ...] = STACK
    # The drivers the scenario's database URL can follow in a matrix's driver axis.
    drivers: tuple[str, ...] = ("psycopg",)
    # The verdict (and leak kind) it earns when its clients leave: half of them before
    # the answer's end (``--abort 50%``), or, on a WS route, every one by dropping its
    # connection (``--ws-drop``); None where that is not measured.
    when_clients_leave: Expectation | None = None
    leave_leak_kind: LeakKindName | None = None
    # Messages each session of a WS route waits for (``--ws-receive``).
    ws_receive: int = 1
    # Its handlers are cancelled when their client leaves (scenarios/_cancel.py's
    # CancelOnDisconnect), and its target's log counts each cancellation and where it landed.
    cancels: bool = False
    # Its cancelled handlers can close a connection PostgreSQL is still answering on, which
    # PostgreSQL 14+ counts as a session ended by a FATAL error ("connection to client
    # lost"), as it counts a timeout ending a leaked session: leakbench cannot tell them
    # apart, so such a row with clients that leave is CLEAN or INCONCLUSIVE, never LEAKED.
    leave_client_lost: bool = False
    # The most connections its verdict is measured with, when a client that times out
    # waiting for the pool would itself be a client that leaves (and leak): below the pool.
    max_concurrency: int | None = None

    @property
    def app(self) -> str:
        """The uvicorn import string of the scenario's ASGI app."""
        return f"leakbench.scenarios.{self.module}:app"


SCENARIOS: tuple[Scenario, ...] = (
    # The pull request's two dependencies.
    Scenario(
        name="with-session",
        module="with_session",
        summary="The FastAPI template's `with Session(engine) as session: yield session`.",
        expected="CLEAN",
        twin="try-finally",
        drivers=SYNC_DRIVERS,
    ),
    Scenario(
        name="try-finally",
        module="try_finally",
        summary="The PR's fix: `session = Session(engine); try: yield finally: session.close()`.",
        expected="CLEAN",
        twin="with-session",
        drivers=SYNC_DRIVERS,
    ),
    # Leaks held by a live reference: they last until the process exits.
    Scenario(
        name="global-session-cache",
        module="global_session_cache",
        summary="Each request's session is kept in a module-level list and never closed.",
        expected="LEAKED",
        twin="try-finally",
        leak_kind="held_by_reference",
        drivers=SYNC_DRIVERS,
    ),
    Scenario(
        name="app-state-sessions",
        module="app_state_sessions",
        summary="Each request's session is parked on `app.state` and never closed.",
        expected="LEAKED",
        endpoints=("/ok",),
        twin="try-finally",
        leak_kind="held_by_reference",
        drivers=SYNC_DRIVERS,
    ),
    Scenario(
        name="raw-connection-cache",
        module="raw_connection_cache",
        summary="A raw psycopg connection per thread in a module-level dict, never committed.",
        expected="LEAKED",
        endpoints=("/ok",),
        twin="raw-connection-closed",
        leak_kind="held_by_reference",
    ),
    Scenario(
        name="shared-connection-transaction",
        module="shared_connection_transaction",
        summary="A module-level `engine.connect()` whose autobegun transaction never ends.",
        expected="LEAKED",
        endpoints=("/ok",),
        twin="try-finally",
        leak_kind="held_by_reference",
        drivers=SYNC_DRIVERS,
    ),
    Scenario(
        name="endless-task-session",
        module="endless_task_session",
        summary="Each request starts an asyncio task that polls forever in an open session.",
        expected="LEAKED",
        endpoints=("/ok",),
        twin="async-session",
        leak_kind="held_by_reference",
    ),
    # A leak only the pool sees: PostgreSQL shows the kept connections idle.
    Scenario(
        name="kept-connection",
        module="kept_connection",
        summary="Each request's `engine.connect()` is kept in a list after its commit: idle.",
        expected="LEAKED",
        twin="closed-connection",
        leak_kind="checked_out_idle",
    ),
    # Leaks only reference cycles keep: they last until a cyclic garbage collection.
    Scenario(
        name="never-closed-session",
        module="never_closed_session",
        summary="`yield Session(engine)` with no close: freed only by the cyclic GC.",
        expected="LEAKED",
        twin="try-finally",
        leak_kind="awaiting_gc",
        drivers=SYNC_DRIVERS,
    ),
    Scenario(
        name="async-session-unclosed",
        module="async_session_unclosed",
        summary="`yield AsyncSessionLocal()` with no close: dropped only by the cyclic GC.",
        expected="LEAKED",
        endpoints=("/ok",),
        twin="async-session",
        leak_kind="awaiting_gc",
    ),
    Scenario(
        name="background-function-scope",
        module="background_function_scope",
        summary='A BackgroundTasks job reads through the `scope="function"` session: reopened.',
        expected="LEAKED",
        endpoints=("/ok",),
        twin="background-fresh-session",
        leak_kind="awaiting_gc",
        requires=SCOPE_STACK,
    ),
    Scenario(
        name="yield-without-finally",
        module="yield_without_finally",
        summary="`yield session` then `session.close()` with no finally: skipped when it raises.",
        expected="LEAKED",
        endpoints=("/error",),
        twin="try-finally",
        leak_kind="awaiting_gc",
    ),
    Scenario(
        name="rare-cycle-leak",
        module="rare_cycle_leak",
        summary="1 write in 20 fails before `session.close()`, beside a busy read route.",
        expected="LEAKED",
        endpoints=(),
        mix=("3 POST /read", "1 POST /write"),
        twin="try-finally",
        leak_kind="awaiting_gc",
        drivers=SYNC_DRIVERS,
    ),
    # Engines made while serving requests and never disposed.
    Scenario(
        name="engine-per-request",
        module="engine_per_request",
        summary="`create_engine` inside the dependency: every request's pool keeps a connection.",
        expected="LEAKED",
        endpoints=("/ok",),
        twin="with-session",
        leak_kind="engines_not_disposed",
        drivers=SYNC_DRIVERS,
    ),
    # Clean: the async stack, background jobs, raw connections.
    Scenario(
        name="async-session",
        module="async_session",
        summary="Seed 002: `async with AsyncSessionLocal() as session: yield session`.",
        expected="CLEAN",
        twin="async-session-unclosed",
    ),
    Scenario(
        name="background-request-session",
        module="background_request_session",
        summary="A BackgroundTasks job reads through the request-scoped session.",
        expected="CLEAN",
        endpoints=("/ok",),
        twin="background-fresh-session",
    ),
    Scenario(
        name="background-fresh-session",
        module="background_fresh_session",
        summary="The fix: the BackgroundTasks job opens and closes a session of its own.",
        expected="CLEAN",
        endpoints=("/ok",),
        twin="background-function-scope",
        requires=SCOPE_STACK,
    ),
    Scenario(
        name="raw-connection-closed",
        module="raw_connection_closed",
        summary="A raw psycopg connection per request in a `with` block.",
        expected="CLEAN",
        endpoints=("/ok",),
        twin="raw-connection-cache",
    ),
    Scenario(
        name="raw-connection-dropped",
        module="raw_connection_dropped",
        summary="Trap: a raw psycopg connection never closed, freed at once by refcounting.",
        expected="CLEAN",
        twin="raw-connection-closed",
    ),
    Scenario(
        name="closed-connection",
        module="closed_connection",
        summary="The fix: `with engine.connect() as conn, Session(bind=conn)`.",
        expected="CLEAN",
        twin="kept-connection",
    ),
    # Traps that look bad under load and are not leaks.
    Scenario(
        name="slow-transaction",
        module="slow_transaction",
        summary="Trap: 0.4 s transactions keep many connections idle in transaction in flight.",
        expected="CLEAN",
        endpoints=("/ok",),
        drivers=SYNC_DRIVERS,
    ),
    Scenario(
        name="pool-exhaustion",
        module="pool_exhaustion",
        summary="Trap: slow transactions and a 0.5 s pool_timeout; requests fail, none leaks.",
        expected="CLEAN",
        endpoints=("/ok",),
        drivers=SYNC_DRIVERS,
    ),
    # Clients that leave (--abort): Starlette stops a stream at a yield or an await.
    Scenario(
        name="stream-closed-midway",
        module="stream_closed_midway",
        summary="A stream's Session closed after the last chunk, no finally: skipped if the "
        "client leaves.",
        expected="CLEAN",
        endpoints=("GET /stream",),
        twin="stream-async-with",
        when_clients_leave="LEAKED",
        leave_leak_kind="awaiting_gc",
    ),
    Scenario(
        name="stream-async-with",
        module="stream_async_with",
        summary="The fix: an async stream reads in `async with AsyncSessionLocal()`: cancelled, "
        "it closes.",
        expected="CLEAN",
        endpoints=("GET /stream",),
        twin="stream-closed-midway",
        when_clients_leave="CLEAN",
    ),
    Scenario(
        name="websocket-session-dropped",
        module="websocket_session_dropped",
        summary="A WebSocket handler's session per message, closed after its updates: "
        "skipped on a drop.",
        expected="CLEAN",
        endpoints=("WS /ws",),
        when_clients_leave="LEAKED",
        leave_leak_kind="awaiting_gc",
        ws_receive=3,
        max_concurrency=10,
    ),
    Scenario(
        name="sse-request-session",
        module="sse_request_session",
        summary="An SSE stream reads through the request's session: a pool slot per open "
        "stream, none after.",
        expected="CLEAN",
        endpoints=("GET /events",),
        when_clients_leave="CLEAN",
        # A yield dependency's exit after the response is new in FastAPI 0.118.
        requires=(*STACK, ("fastapi", ">=0.118")),
    ),
    Scenario(
        name="cancelled-psycopg",
        module="cancelled_psycopg",
        summary="Handlers cancelled when their client leaves, behind a BaseHTTPMiddleware: "
        "`async with` sessions, psycopg async.",
        expected="CLEAN",
        endpoints=("/ok",),
        twin="cancelled-asyncpg",
        when_clients_leave="CLEAN",
        cancels=True,
        leave_client_lost=True,
    ),
    Scenario(
        name="cancelled-asyncpg",
        module="cancelled_asyncpg",
        summary="The same on asyncpg (sqlalchemy#12077, fixed in 2.0.38).",
        expected="CLEAN",
        endpoints=("/ok",),
        twin="cancelled-psycopg",
        when_clients_leave="CLEAN",
        cancels=True,
        leave_client_lost=True,
        # Its engine is asyncpg's whatever the matrix's driver: --versions driver=asyncpg
        # installs it; without it the column says n/a.
        requires=(*STACK, ("asyncpg", ">=0.29")),
        drivers=("asyncpg",),
    ),
    Scenario(
        name="cancelled-pool-wait",
        module="cancelled_pool_wait",
        summary="psycopg_pool's AsyncConnectionPool used directly: requests cancelled while "
        "they wait for a slot (psycopg#509).",
        expected="CLEAN",
        endpoints=("/ok",),
        twin="cancelled-psycopg",
        when_clients_leave="CLEAN",
        cancels=True,
        # psycopg_pool 3.1 is the first with open=False; the matrix's psycopg-pool axis
        # installs it, and a column without it says n/a.
        requires=(*STACK, ("psycopg-pool", ">=3.1")),
    ),
    Scenario(
        name="conflict-after-sql",
        module="conflict_after_sql",
        summary="Trap: every answer is a 409, raised after an INSERT; the handler did run.",
        expected="CLEAN",
        endpoints=("/conflict",),
        twin="conflict-after-sql-async",
    ),
    Scenario(
        name="conflict-after-sql-async",
        module="conflict_after_sql_async",
        summary="Trap: the same 409 after an INSERT, on the async stack.",
        expected="CLEAN",
        endpoints=("/conflict",),
        twin="conflict-after-sql",
    ),
)

# The two dependencies the pull request compares; `--pattern both` runs them.
PR_PATTERNS: tuple[str, ...] = ("with-session", "try-finally")


def by_name(name: str) -> Scenario | None:
    """Return the scenario called ``name``, or None."""
    for scenario in SCENARIOS:
        if scenario.name == name:
            return scenario
    return None
