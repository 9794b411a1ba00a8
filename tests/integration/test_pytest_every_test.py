"""``pytest --leakbench``: a sample suite with no ``leak_check`` in it, on the embedded PostgreSQL.

The suite is run by pytester in a subprocess (what it leaks dies with it)
and finds the plugin through its ``pytest11`` entry point, as a user's would.
Its engine is made at import time by its conftest, as an app's module-level
engine is, before the plugin could be told about it.
"""

from __future__ import annotations

import re

import pytest

from leakbench._settings import dsn as dsn_tools

pytest_plugins = ["pytester"]

URL_ENV = "LEAKBENCH_SAMPLE_DATABASE_URL"

CONFTEST = f"""
import os
import threading

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

engine = create_engine(os.environ["{URL_ENV}"], pool_size=2, max_overflow=8)
KEPT = []


@pytest.fixture(scope="session")
def shared_connection():
    connection = engine.connect()
    connection.execute(text("SELECT 'shared'"))
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def db():
    # The full-stack FastAPI template's tests share one Session like this.
    with Session(engine) as session:
        session.execute(text("SELECT 'seed'"))
        session.commit()
        yield session


@pytest.fixture(scope="module")
def forgotten_connection():
    connection = engine.connect()  # never closed
    connection.execute(text("SELECT 'forgotten'"))
    KEPT.append(connection)
    return connection


@pytest.fixture
def session():
    with Session(engine) as session:
        yield session


def keep_from_a_thread():
    def work():
        connection = engine.connect()
        connection.execute(text("SELECT 'from a thread'"))
        KEPT.append(connection)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
"""

EVERY_TESTS = """
import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from conftest import KEPT, engine, keep_from_a_thread


def test_leaves_a_session_open():
    session = Session(engine)
    session.execute(text("SELECT 'left open'"))
    KEPT.append(session)


def test_closes_its_session():
    with Session(engine) as session:
        session.execute(text("SELECT 1"))


def test_a_fixture_closing_at_teardown_is_not_blamed(session):
    session.execute(text("SELECT 1"))


def test_one_uses_the_session_fixture(shared_connection):
    shared_connection.execute(text("SELECT 1"))


def test_two_uses_the_session_fixture(shared_connection):
    shared_connection.execute(text("SELECT 2"))


def test_reads_through_the_session_fixture_without_a_commit(db):
    db.execute(text("SELECT 'read, no commit'"))


@pytest.mark.leakbench_allow
def test_allowed_to_leave_one():
    KEPT.append(engine.connect())


def test_that_fails_is_reported_once():
    KEPT.append(engine.connect())
    assert False, "the test's own failure"


def test_leaves_one_from_a_thread():
    keep_from_a_thread()


def test_leaves_one_of_an_engine_it_made():
    own = create_engine(os.environ["LEAKBENCH_SAMPLE_DATABASE_URL"])
    KEPT.append(own.connect())
"""

MODULE_FIXTURE_TESTS = """
def test_first_of_the_module(forgotten_connection):
    pass


def test_last_of_the_module(forgotten_connection):
    pass
"""


def line_of(pytester: pytest.Pytester, filename: str, needle: str) -> int:
    lines = (pytester.path / filename).read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


def errors_of(result: pytest.RunResult) -> list[str]:
    summary = result.stdout.str().split("short test summary info")[-1]
    return sorted(re.findall(r"^ERROR (\S+)", summary, flags=re.MULTILINE))


@pytest.fixture
def sample_suite(
    pytester: pytest.Pytester,
    embedded_dsn: str,
    owned_database: str,
    monkeypatch: pytest.MonkeyPatch,
) -> pytest.Pytester:
    params = dsn_tools.validate(dsn_tools.with_database(embedded_dsn, owned_database))
    monkeypatch.setenv(URL_ENV, dsn_tools.to_url(params, scheme="postgresql+psycopg"))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_every=EVERY_TESTS, test_module_fixture=MODULE_FIXTURE_TESTS)
    return pytester


def test_every_test_is_checked_with_no_fixture_written(sample_suite: pytest.Pytester) -> None:
    result = sample_suite.runpytest_subprocess("-p", "no:cacheprovider", "--leakbench")
    result.assert_outcomes(passed=11, failed=1, errors=4)
    assert errors_of(result) == [
        "test_every.py::test_leaves_a_session_open",
        "test_every.py::test_leaves_one_from_a_thread",
        "test_every.py::test_leaves_one_of_an_engine_it_made",
        "test_module_fixture.py::test_last_of_the_module",
    ]
    session_line = line_of(sample_suite, "test_every.py", "SELECT 'left open'")
    thread_line = line_of(sample_suite, "conftest.py", "        connection = engine.connect()")
    fixture_line = line_of(sample_suite, "conftest.py", "# never closed")
    own_line = line_of(sample_suite, "test_every.py", "KEPT.append(own.connect())")
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_leaves_a_session_open*",
            "leakbench: test_every.py::test_leaves_a_session_open left 1 connection(s) still "
            "checked out, 1 in an open transaction (taken at "
            f"test_every.py:{session_line} in test_leaves_a_session_open) after its teardown.",
            "*ERROR at teardown of test_leaves_one_from_a_thread*",
            "leakbench: test_every.py::test_leaves_one_from_a_thread left 1 connection(s) still "
            f"checked out, 1 in an open transaction (taken at conftest.py:{thread_line} in work)*",
            "*ERROR at teardown of test_leaves_one_of_an_engine_it_made*",
            "leakbench: test_every.py::test_leaves_one_of_an_engine_it_made left 1 connection(s) "
            f"still checked out (taken at test_every.py:{own_line} in "
            "test_leaves_one_of_an_engine_it_made) after its teardown.",
            "*ERROR at teardown of test_last_of_the_module*",
            "leakbench: fixture 'forgotten_connection' (module scope, conftest.py) left "
            "1 connection(s) still checked out, 1 in an open transaction (taken at "
            f"conftest.py:{fixture_line} in forgotten_connection) after its teardown.",
        ]
    )
    output = result.stdout.str()
    # The session fixtures' connections, out through every test, are blamed on none of them,
    # nor is the one a test took through the shared Session and left in its transaction;
    # a failed test is reported once (its failure), the allowed one not at all.
    assert "shared_connection" not in output
    assert "without_a_commit" not in output and "fixture 'db'" not in output
    assert "test_that_fails_is_reported_once left" not in output
    assert "test_allowed_to_leave_one" not in output


def test_the_ini_value_turns_it_on_and_a_fixture_may_be_allowed(
    sample_suite: pytest.Pytester,
) -> None:
    sample_suite.makeini(
        "[pytest]\nleakbench = true\nleakbench_allow_fixtures = forgotten_connection\n"
    )
    result = sample_suite.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=11, failed=1, errors=3)
    assert errors_of(result) == [
        "test_every.py::test_leaves_a_session_open",
        "test_every.py::test_leaves_one_from_a_thread",
        "test_every.py::test_leaves_one_of_an_engine_it_made",
    ]
