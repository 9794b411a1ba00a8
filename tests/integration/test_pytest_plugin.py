"""The pytest plugin, run by pytester on sample projects against the embedded PostgreSQL.

Each sample project is a real test suite in a temporary folder, run in a
subprocess (so what it leaks dies with it) that finds the plugin through
its ``pytest11`` entry point, as a user's suite would.
"""

from __future__ import annotations

import re

import pytest

from leakbench._settings import dsn as dsn_tools

pytest_plugins = ["pytester"]

URL_ENV = "LEAKBENCH_SAMPLE_DATABASE_URL"

CONFTEST = f"""
import os

import pytest
from sqlalchemy import create_engine


@pytest.fixture
def engine():
    engine = create_engine(os.environ["{URL_ENV}"], pool_size=2, max_overflow=3)
    yield engine
    engine.dispose()
"""

SESSION_TESTS = """
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

KEPT = []


@pytest.fixture
def session(engine):
    session = Session(engine)
    yield session
    session.close()


def test_leaks_a_session(engine, leak_check):
    leak_check(engine)
    session = Session(engine)
    session.execute(text("SELECT 'left open' AS marker"))
    KEPT.append(session)


def test_closes_its_session(engine, leak_check):
    leak_check(engine)
    with Session(engine) as session:
        session.execute(text("SELECT 1"))


def test_a_fixture_closing_at_teardown_is_not_blamed(session, engine, leak_check):
    leak_check(engine)
    session.execute(text("SELECT 1"))


def test_a_transaction_older_than_the_test_is_not_blamed(engine, leak_check):
    older = engine.connect()
    older.execute(text("SELECT 'older'"))
    leak_check(engine)
    KEPT.append(older)
"""

ASYNC_TESTS = f"""
import os

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

KEPT = []


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
async def async_engine():
    engine = create_async_engine(os.environ["{URL_ENV}"])
    yield engine
    await engine.dispose()


@pytest.mark.anyio
async def test_async_leak(async_engine, leak_check):
    leak_check(async_engine)
    connection = await async_engine.connect()
    await connection.execute(text("SELECT 'async leak'"))
    KEPT.append(connection)


@pytest.mark.anyio
async def test_async_clean(async_engine, leak_check):
    leak_check(async_engine)
    async with async_engine.connect() as connection:
        await connection.execute(text("SELECT 1"))
"""

APP = f"""
import os

from fastapi import Depends, FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

engine = create_engine(os.environ["{URL_ENV}"], pool_size=5, max_overflow=20)
KEPT = []


def leaky_db():
    session = Session(engine)
    KEPT.append(session)
    yield session


def closing_db():
    session = Session(engine)
    try:
        yield session
    finally:
        session.close()


app = FastAPI()


@app.post("/leaky")
def leaky(db: Session = Depends(leaky_db)):
    db.execute(text("SELECT 'from the leaky handler'"))
    return {{"ok": True}}


@app.post("/clean")
def clean(payload: dict, db: Session = Depends(closing_db)):
    db.execute(text("SELECT 1"))
    return payload
"""

LOAD_TESTS = """
import pytest

from sample_app import app, engine


@pytest.mark.parametrize("server", ["asgi", "uvicorn"])
def test_clean_under_load(leak_check, server):
    leak_check(engine)
    stats = leak_check.drive(
        app, "POST /clean", requests=60, concurrency=10, json={"name": "x"}, server=server
    )
    assert stats.completed == 60
    assert dict(stats.status_counts) == {200: 60}


@pytest.mark.parametrize("server", ["asgi", "uvicorn"])
def test_leaky_under_load(leak_check, server):
    leak_check(engine)
    leak_check.drive(app, "POST /leaky", requests=8, concurrency=4, server=server)
    raise AssertionError("drive() should have failed the test")
"""


def line_of(pytester: pytest.Pytester, filename: str, needle: str) -> int:
    lines = (pytester.path / filename).read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


@pytest.fixture
def sample_database_url(
    embedded_dsn: str, owned_database: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    params = dsn_tools.validate(dsn_tools.with_database(embedded_dsn, owned_database))
    url = dsn_tools.to_url(params, scheme="postgresql+psycopg")
    monkeypatch.setenv(URL_ENV, url)
    return url


def test_leak_check_catches_a_leaked_session_and_passes_clean_ones(
    pytester: pytest.Pytester, sample_database_url: str
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_sessions=SESSION_TESTS, test_async=ASYNC_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=6, errors=2)
    leak_line = line_of(pytester, "test_sessions.py", "SELECT 'left open'")
    async_line = line_of(pytester, "test_async.py", "= await async_engine.connect()")
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaks_a_session*",
            "leakbench: database connections leaked by this test:",
            "  engine postgresql+psycopg://*@127.0.0.1:*/leakbench_test_*: 1 connection(s) "
            "checked out and never returned to the pool "
            f"(taken at test_sessions.py:{leak_line} in test_leaks_a_session)",
            "  PostgreSQL, database leakbench_test_*: 1 idle in transaction; the oldest "
            "transaction is * s old, last query: SELECT 'left open' AS marker",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_async_leak*",
            "  engine postgresql+psycopg://*: 1 connection(s) checked out and "
            f"never returned to the pool (taken at test_async.py:{async_line} in test_async_leak)",
            "  PostgreSQL, database *: 1 idle in transaction; *last query: SELECT 'async leak'",
        ]
    )
    summary = result.stdout.str().split("short test summary info")[-1]
    assert sorted(re.findall(r"ERROR (\S+)", summary)) == [
        "test_async.py::test_async_leak",
        "test_sessions.py::test_leaks_a_session",
    ]


def test_drive_fails_a_leaky_endpoint_and_passes_a_clean_one(
    pytester: pytest.Pytester, sample_database_url: str
) -> None:
    pytester.makepyfile(sample_app=APP, test_load=LOAD_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=2)
    output = result.stdout.str()
    assert "drive() should have failed the test" not in output
    handler_line = line_of(pytester, "sample_app.py", "from the leaky handler")
    for server in ("asgi", "uvicorn"):
        assert f"FAILED test_load.py::test_leaky_under_load[{server}]" in output
    result.stdout.fnmatch_lines(
        [
            "*leakbench: database connections leaked by 8 requests:",
            "*8 connection(s) checked out and never returned to the pool "
            f"(taken at sample_app.py:{handler_line} in leaky (8x))",
            "*PostgreSQL, database leakbench_test_*: 8 idle in transaction; *"
            "last query: SELECT 'from the leaky handler'",
        ]
    )


@pytest.mark.quick
def test_the_settle_option_must_be_seconds(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nleakbench_settle = soon\n")
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.stderr.fnmatch_lines(
        ["ERROR: leakbench_settle = 'soon' is invalid; give 0 to 60 seconds*"]
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
