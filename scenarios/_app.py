"""What every scenario shares: the engines, the table and the PR's routes.

A scenario module differs from another only in its ``get_db`` dependency
(and, for leaking scenarios, in what that dependency does) plus, at most, one
of the documented options of :func:`build_app` or :func:`build_async_app`.
The engines' pool settings and the database come from the environment
leakbench sets.
"""

# sqlmodel types Session.exec() for select/update only; the PR passes text(),
# which works at run time, hence the targeted ignores below.
# No ``from __future__ import annotations`` here: FastAPI must see the real
# ``Annotated[Session, Depends(get_db)]`` objects of the routes defined inside
# the builders, and string annotations naming a local alias cannot be resolved.
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import BackgroundTasks, Depends, FastAPI, HTTPException
from sqlalchemy import Engine, text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel import Field, Session, SQLModel, create_engine

from . import DRIVER_ENV

# A dependency may take FastAPI parameters of its own (the Request, say).
GetDb = Callable[..., Iterator[Session]]
GetAsyncDb = Callable[..., AsyncIterator[AsyncSession]]
# Work a route hands to FastAPI's BackgroundTasks, given the request's session.
BackgroundJob = Callable[[AsyncSession], Awaitable[None]]
DependencyScope = Literal["request", "function"]
# How long the traps' requests keep their transaction open.
SLOW_TRANSACTION_SECONDS = 0.4

INSERT_COMPANY = text("INSERT INTO company (company_name, timezone) VALUES ('test', 'UTC')")
COUNT_COMPANIES = text("SELECT count(*) FROM company")
# What /conflict answers after its INSERT, as a handler refusing a duplicate does.
CONFLICT_STATUS = 409
# Side writes of the scenarios that leak outside the request's session.
INSERT_AUDIT_ROW = "INSERT INTO company (company_name, timezone) VALUES ('audit', 'UTC')"


class Company(SQLModel, table=True):
    """The PR's table."""

    id: int | None = Field(default=None, primary_key=True)
    company_name: str
    timezone: str


def database_url() -> str:
    """The target's database, as leakbench passes it (a plain postgresql:// URL)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise RuntimeError("DATABASE_URL is not set; leakbench sets it for its targets.")
    return url


def sqlalchemy_url(url: str, driver: str | None = None) -> str:
    """Point a plain postgresql:// URL at ``driver``: by default psycopg 3, or the driver
    ``leakbench matrix --versions driver=...`` sets in LEAKBENCH_DRIVER."""
    driver = driver or os.environ.get(DRIVER_ENV) or "psycopg"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return f"postgresql+{driver}://" + url[len(prefix) :]
    return url


def _pool_settings(pool_timeout: float | None) -> dict[str, Any]:
    return {
        "pool_size": int(os.environ.get("LEAKBENCH_POOL_SIZE", "2")),
        "max_overflow": int(os.environ.get("LEAKBENCH_MAX_OVERFLOW", "10")),
        "pool_timeout": (
            pool_timeout
            if pool_timeout is not None
            else float(os.environ.get("LEAKBENCH_POOL_TIMEOUT", "30"))
        ),
    }


def engine_from_environment(*, pool_timeout: float | None = None) -> Engine:
    """The engine from DATABASE_URL and the LEAKBENCH_POOL_* settings.

    ``pool_timeout`` overrides LEAKBENCH_POOL_TIMEOUT, for a scenario whose
    point is how its pool behaves when it runs dry.
    """
    return create_engine(sqlalchemy_url(database_url()), **_pool_settings(pool_timeout))


engine = engine_from_environment()
# The async stack of seed 002: created lazily by the pool, so sync scenarios
# that never touch it open no connection through it.
# psycopg 3 whatever LEAKBENCH_DRIVER says: psycopg2 has no asyncio.
async_engine: AsyncEngine = create_async_engine(
    sqlalchemy_url(database_url(), "psycopg"), **_pool_settings(None)
)
AsyncSessionLocal = async_sessionmaker(async_engine, expire_on_commit=False)


async def get_async_db() -> AsyncIterator[AsyncSession]:
    """Seed 002's request-scoped dependency, for the async scenarios that do not leak in it."""
    async with AsyncSessionLocal() as session:
        yield session


async def read_total(session: AsyncSession) -> None:
    """A read-only background job; like most reads, it never commits."""
    await session.execute(COUNT_COMPANIES)


def _lifespan(schema_engine: Engine | AsyncEngine) -> Callable[[FastAPI], Any]:
    """Create the table through the engine the routes use, so no other engine holds a connection.

    A second engine's idle connection would count against the pool's
    capacity in pg_stat_activity.
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if isinstance(schema_engine, AsyncEngine):
            async with schema_engine.begin() as conn:
                await conn.run_sync(SQLModel.metadata.create_all)
        else:
            SQLModel.metadata.create_all(schema_engine)
        yield
        if isinstance(schema_engine, AsyncEngine):
            await schema_engine.dispose()
        else:
            schema_engine.dispose()

    return lifespan


def async_engine_for(driver: str) -> AsyncEngine:
    """An async engine on ``driver`` (psycopg or asyncpg) with the LEAKBENCH_POOL_* settings."""
    return create_async_engine(sqlalchemy_url(database_url(), driver), **_pool_settings(None))


def bare_app(title: str, *, pool_engine: Engine | AsyncEngine = engine) -> FastAPI:
    """An app with the table and no route, for a scenario whose routes are its point."""
    return FastAPI(title=title, lifespan=_lifespan(pool_engine))


def build_app(
    get_db: GetDb,
    title: str,
    *,
    read_after_commit: bool = False,
    hold_seconds: float = 0.0,
    pool_engine: Engine = engine,
) -> FastAPI:
    """The PR's three routes over the dependency under test, and /conflict.

    /conflict runs an INSERT and answers 409 without committing, as handlers
    that refuse a duplicate after looking do: a 4xx after SQL.

    With ``read_after_commit`` the routes read the row count after committing
    (as handlers that return the created object do). That read starts a new
    transaction, which holds a connection until the session is closed: it is
    what turns a session that is never closed into a visible leak.

    With ``hold_seconds`` the /ok and /error routes keep their transaction
    open that long before committing, half of it waiting in Python (the
    connection is *idle in transaction*, as while calling another service)
    and half in ``pg_sleep`` (the connection is *active*).

    ``pool_engine`` is the engine the scenario's sessions use, when it is
    not the shared one; the tables are created and disposed through it.
    """

    def after_commit(db: Session) -> int | None:
        if not read_after_commit:
            return None
        rows = db.exec(COUNT_COMPANIES)  # type: ignore[call-overload]  # as above
        return int(rows.one()[0])

    def insert_and_commit(db: Session) -> None:
        db.exec(INSERT_COMPANY)  # type: ignore[call-overload]  # the PR's own call
        if hold_seconds:
            time.sleep(hold_seconds / 2)
            db.exec(text("SELECT pg_sleep(:s)").bindparams(s=hold_seconds / 2))  # type: ignore[call-overload]  # as above
        db.commit()

    app = FastAPI(title=title, lifespan=_lifespan(pool_engine))
    DbSession = Annotated[Session, Depends(get_db)]

    @app.post("/ok")
    def ok_endpoint(db: DbSession) -> dict[str, Any]:
        insert_and_commit(db)
        total = after_commit(db)
        return {"ok": True} if total is None else {"ok": True, "total": total}

    @app.post("/error")
    def error_endpoint(db: DbSession) -> dict[str, Any]:
        insert_and_commit(db)
        after_commit(db)
        raise ValueError("boom")

    @app.post("/conflict")
    def conflict_endpoint(db: DbSession) -> dict[str, Any]:
        db.exec(INSERT_COMPANY)  # type: ignore[call-overload]  # the PR's own call
        raise HTTPException(status_code=CONFLICT_STATUS, detail="this company exists already")

    @app.post("/explicit-rollback")
    def explicit_rollback(db: DbSession) -> dict[str, Any]:
        db.begin()
        try:
            db.exec(INSERT_COMPANY)  # type: ignore[call-overload]  # the PR's own call
            db.commit()
        except Exception:
            db.rollback()
            raise
        return {"ok": True}

    return app


def build_async_app(
    get_db: GetAsyncDb,
    title: str,
    *,
    read_after_commit: bool = False,
    scope: DependencyScope = "request",
    background: BackgroundJob | None = None,
) -> FastAPI:
    """The PR's /ok and /error routes on the async stack (seed 002), and /conflict.

    ``read_after_commit`` is as in :func:`build_app`. ``scope`` is the
    ``Depends(get_db, scope=...)`` of the routes: "request" (FastAPI's
    default) ends the dependency after the response and its background tasks,
    "function" as soon as the route returns. With ``background`` the /ok route
    hands that job to ``BackgroundTasks`` with the request's session, as
    handlers that "send the confirmation later" do.
    """

    async def after_commit(db: AsyncSession) -> int | None:
        if not read_after_commit:
            return None
        return int((await db.execute(COUNT_COMPANIES)).scalar_one())

    async def insert_and_commit(db: AsyncSession) -> None:
        await db.execute(INSERT_COMPANY)
        await db.commit()

    app = FastAPI(title=title, lifespan=_lifespan(async_engine))
    # Depends() takes scope= from FastAPI 0.121 on; the default needs no keyword.
    depends = Depends(get_db) if scope == "request" else Depends(get_db, scope=scope)
    DbSession = Annotated[AsyncSession, depends]

    @app.post("/ok")
    async def ok_endpoint(db: DbSession, tasks: BackgroundTasks) -> dict[str, Any]:
        await insert_and_commit(db)
        total = await after_commit(db)
        if background is not None:
            tasks.add_task(background, db)
        return {"ok": True} if total is None else {"ok": True, "total": total}

    @app.post("/error")
    async def error_endpoint(db: DbSession) -> dict[str, Any]:
        await insert_and_commit(db)
        await after_commit(db)
        raise ValueError("boom")

    @app.post("/conflict")
    async def conflict_endpoint(db: DbSession) -> dict[str, Any]:
        await db.execute(INSERT_COMPANY)
        raise HTTPException(status_code=CONFLICT_STATUS, detail="this company exists already")

    return app
