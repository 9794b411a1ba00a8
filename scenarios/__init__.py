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

    @property
    def app(self) -> str:
        """The uvicorn import string of the scenario's ASGI app."""
        return f"scenarios.{self.module}:app"


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
