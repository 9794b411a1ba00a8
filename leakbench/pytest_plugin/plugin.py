"""leakbench's pytest plugin: catch database connection leaks in your own test suite.

Registered through the ``pytest11`` entry point, so installing leakbench is
enough. It adds one fixture::

    def test_create_order(client, engine, leak_check):
        leak_check(engine)                 # watch this engine for the rest of the test
        client.post("/orders", json={...})

    def test_orders_under_load(engine, leak_check):
        leak_check(engine)
        stats = leak_check.drive(app, "POST /orders", requests=200, concurrency=20,
                                 json={"name": "x"})   # fails right here on a leak
        assert stats.server_errors == 0

A connection checked out of the watched engine during the test and never
returned, or a transaction the test began that PostgreSQL still shows idle
in transaction, is reported once every fixture of the test has been torn
down (so a fixture that closes its session at teardown is not blamed), as
an error at the test's teardown. ``drive()`` checks what its own requests
left behind at once and fails the test itself.

``pytest --leakbench`` (or ``leakbench = true`` in the ini file) checks every
test this way with no fixture written in it: see
:mod:`leakbench.pytest_plugin.every_test`.

This module imports only pytest and the standard library; SQLAlchemy,
psycopg and httpx2 are imported when a test first asks for ``leak_check``,
or when ``--leakbench`` is on.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

import pytest

from leakbench.pytest_plugin.names import (
    ALLOW_FIXTURES_INI,
    ALLOW_MARKER,
    EVERY_TEST_INI,
    SETTLE_INI,
)

if TYPE_CHECKING:
    from leakbench.pytest_plugin.leak_check import LeakCheck

_CHECK = pytest.StashKey["LeakCheck"]()
_CALL_FAILED = pytest.StashKey[bool]()
_SETTLE = pytest.StashKey[float]()
_ORDER_HINT = (
    "  (Checked after all the test's fixtures were torn down. If the test is meant to leave "
    "these open, do not watch this engine in it.)"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        SETTLE_INI,
        "Seconds leak_check waits for connections to come back before it reports a leak.",
        default="1.0",
    )
    parser.addini(
        EVERY_TEST_INI,
        "Check every test for database connections it leaves checked out (as --leakbench).",
        type="bool",
        default=False,
    )
    parser.addini(
        ALLOW_FIXTURES_INI,
        "Fixtures of wider scope than a test that may keep connections checked out for good.",
        type="linelist",
        default=[],
    )
    group = parser.getgroup("leakbench", "leakbench: database connection leaks")
    group.addoption(
        "--leakbench",
        action="store_true",
        default=False,
        help="Check every test: a test that leaves a SQLAlchemy connection checked out (or a "
        "transaction open) after its teardown errors there, naming the line that took it.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{ALLOW_MARKER}: this test may leave database connections checked out "
        "(not judged by --leakbench).",
    )
    raw = str(config.getini(SETTLE_INI))
    try:
        settle = float(raw)
    except ValueError:
        settle = -1.0
    if not 0 <= settle <= 60:
        raise pytest.UsageError(
            f"{SETTLE_INI} = {raw!r} is invalid; give 0 to 60 seconds, such as 1.0."
        )
    config.stash[_SETTLE] = settle
    if config.getoption("leakbench", False) or config.getini(EVERY_TEST_INI):
        try:
            from leakbench.pytest_plugin.every_test import EveryTest  # noqa: PLC0415 - only when on
        except ImportError as exc:
            raise pytest.UsageError(
                f"--leakbench watches SQLAlchemy's pools, but {exc.name} cannot be imported here; "
                "install it in the environment that runs the tests."
            ) from None

        allowed = [str(name) for name in config.getini(ALLOW_FIXTURES_INI)]
        config.pluginmanager.register(EveryTest(settle, allowed), "leakbench-every-test")


@pytest.fixture
def leak_check(request: pytest.FixtureRequest) -> LeakCheck:
    """Call with a SQLAlchemy engine to fail the test if it leaks a connection or a transaction."""
    from leakbench.pytest_plugin.leak_check import LeakCheck  # noqa: PLC0415 - keep pytest start-up cheap

    check = LeakCheck(settle=request.config.stash[_SETTLE])
    request.node.stash[_CHECK] = check
    return check


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item,
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and not report.passed:
        item.stash[_CALL_FAILED] = True
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """After every function-scoped fixture is finalised, look for what the test left open."""
    check = item.stash.get(_CHECK, None)
    if check is None:
        return (yield)
    del item.stash[_CHECK]
    try:
        yield
        _verify(item, check)
    finally:
        check.close()


def _verify(item: pytest.Item, check: LeakCheck) -> None:
    # A test that already failed may well have left connections out; one report is enough.
    if item.stash.get(_CALL_FAILED, False) or not check.watching:
        return
    from leakbench.pytest_plugin.leak_check import failure_message  # noqa: PLC0415 - see leak_check()

    found = check.findings()
    if found:
        message = failure_message(found, during="this test") + "\n" + _ORDER_HINT
        pytest.fail(message, pytrace=False)
