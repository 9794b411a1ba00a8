"""The library facts docs/leaks.md builds on, checked on the installed versions.

Each test states one fact the scenarios' expected verdicts rest on, so an
upgrade of SQLAlchemy, psycopg or FastAPI that changes it fails here with a
clear name rather than as a flipped scenario verdict.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator
from typing import Literal

import httpx2
import psycopg
import pytest
from fastapi import BackgroundTasks, Depends, FastAPI
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from leakbench._settings import dsn as dsn_tools
from tests.fix_db import connections_by_state

pytestmark = pytest.mark.quick  # a real server, but well under a second per test


@pytest.fixture
def database_url(embedded_dsn: str, owned_database: str) -> str:
    params = dsn_tools.validate(dsn_tools.with_database(embedded_dsn, owned_database))
    return dsn_tools.to_url(params)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    yield engine
    engine.dispose()


@pytest.fixture
def no_automatic_gc() -> Iterator[None]:
    """Only reference counting frees objects, unless the test collects itself."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def open_session_and_drop_it(engine: Engine) -> None:
    session = Session(engine)
    session.execute(text("SELECT 1"))  # autobegins a transaction on a pooled connection


@pytest.mark.usefixtures("no_automatic_gc")
def test_a_dropped_session_in_a_transaction_waits_for_the_cyclic_collector(
    engine: Engine, embedded_dsn: str, owned_database: str
) -> None:
    open_session_and_drop_it(engine)
    # No reference is left, yet the session <-> transaction cycle keeps it.
    assert connections_by_state(embedded_dsn, owned_database) == {"idle in transaction": 1}
    gc.collect()
    # Its finalizer rolled back and returned the connection to the pool.
    assert connections_by_state(embedded_dsn, owned_database) == {"idle": 1}


@pytest.mark.usefixtures("no_automatic_gc")
def test_a_dropped_raw_psycopg_connection_closes_at_once(
    database_url: str, embedded_dsn: str, owned_database: str
) -> None:
    def open_and_drop() -> None:
        conn = psycopg.connect(database_url)
        conn.execute("SELECT 1")  # begins a transaction: autocommit is off

    with pytest.warns(ResourceWarning, match="deleted while still open"):
        open_and_drop()
    # The client closed its socket at once (no collection ran); the server's backend ends
    # when it reads that, a few milliseconds later on a busy machine.
    deadline = time.monotonic() + 2.0
    while (states := connections_by_state(embedded_dsn, owned_database)) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.01)
    assert states == {}


def order_of_events(scope: Literal["function", "request"] | None) -> list[str]:
    """When a yield dependency ends, relative to the response and a background task."""
    events: list[str] = []

    def dependency() -> Iterator[str]:
        yield "resource"
        events.append("dependency exit")

    app = FastAPI()
    depends = Depends(dependency) if scope is None else Depends(dependency, scope=scope)

    @app.get("/")
    def route(tasks: BackgroundTasks, resource: str = depends) -> str:
        tasks.add_task(events.append, "background task")
        events.append("route returns")
        return resource

    async def call() -> httpx2.Response:
        # The ASGI transport returns once the app's call is over, background tasks included.
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.get("/")

    assert asyncio.run(call()).json() == "resource"
    return events


def test_a_request_scoped_dependency_ends_after_the_background_tasks() -> None:
    # FastAPI's default since 0.118 (Starlette's Response awaits its tasks first).
    expected = ["route returns", "background task", "dependency exit"]
    assert order_of_events(None) == expected
    assert order_of_events("request") == expected


def test_a_function_scoped_dependency_ends_before_the_background_tasks() -> None:
    # So a task given the dependency's session finds it closed, and reopens it.
    assert order_of_events("function") == ["route returns", "dependency exit", "background task"]
