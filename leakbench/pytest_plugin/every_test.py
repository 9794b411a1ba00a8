"""``pytest --leakbench``: every test of the suite checked, with no ``leak_check`` written in it.

Registered by :mod:`leakbench.pytest_plugin.plugin` when the option (or the
``leakbench`` ini value) is on. A :class:`~leakbench.pytest_plugin.ledger.CheckoutLedger`
sees every checkout of every SQLAlchemy pool in the process, and this plugin
tells it who is running:

* a test, from the start of its set-up to the end of its teardown (its own
  function-scoped fixtures included): what it still has checked out once all of
  them are torn down is an error at its teardown, naming the test and the line
  that took each connection;
* the set-up of a fixture of wider scope (class, module, package, session): its
  connections are that fixture's, not the test's that happened to need it
  first, and are judged once the fixture itself is torn down. So are the
  connections a test took through such a fixture's ``Session`` or
  ``Connection`` that it still holds (the template's session-scoped ``db``,
  queried without a commit). A fixture meant to hold one for good is named in
  the ``leakbench_allow_fixtures`` ini value.

A test marked ``@pytest.mark.leakbench_allow`` may leave connections out (it
uses a session a wider fixture keeps open, say). A test that failed is not
judged: one report is enough. A test that asks for ``leak_check`` is judged by
that fixture instead, which also reads PostgreSQL's view.
"""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from leakbench.pytest_plugin.ledger import CheckoutLedger, describe, records_held_by
from leakbench.pytest_plugin.names import ALLOW_FIXTURES_INI, ALLOW_MARKER

_TEST_HINT = (
    "  (Checked once every fixture of the test was torn down; a connection a wider-scoped "
    f"fixture took in its set-up is that fixture's. Mark the test "
    f"@pytest.mark.{ALLOW_MARKER} if it is meant to leave them open.)"
)
_FIXTURE_HINT = (
    f"  (Name the fixture in the {ALLOW_FIXTURES_INI} ini value if it holds them on purpose.)"
)


@dataclass(frozen=True, slots=True)
class FixtureOwner:
    """A fixture of wider scope than a test, as the owner of the connections its set-up took."""

    name: str
    scope: str
    where: str

    def __str__(self) -> str:
        return f"fixture {self.name!r} ({self.scope} scope, {self.where})"


def _defined_in(fixturedef: Any) -> str:
    """The file of the fixture's function, relative to the current folder when inside it."""
    code = getattr(getattr(fixturedef, "func", None), "__code__", None)
    if code is None:
        return "a plugin"
    path = Path(code.co_filename)
    with contextlib.suppress(ValueError):
        return path.relative_to(Path.cwd()).as_posix()
    return str(path)


class EveryTest:
    """The hooks of ``--leakbench``, around one ledger for the whole session."""

    def __init__(self, settle: float, allowed_fixtures: list[str]) -> None:
        self.settle = settle
        self.allowed_fixtures = set(allowed_fixtures)
        self.ledger = CheckoutLedger()
        self.ledger.install()
        self._fixtures: dict[FixtureOwner, Any] = {}
        self._failed: set[str] = set()

    def pytest_unconfigure(self) -> None:
        self.ledger.uninstall()

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: Any, request: pytest.FixtureRequest
    ) -> Generator[None, object, object]:
        if fixturedef.scope == "function":  # the test's own: its connections are the test's
            return (yield)
        owner = FixtureOwner(fixturedef.argname, fixturedef.scope, _defined_in(fixturedef))
        self._fixtures[owner] = fixturedef
        previous, self.ledger.owner = self.ledger.owner, owner
        try:
            return (yield)
        finally:
            self.ledger.owner = previous

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        self.ledger.owner = item.nodeid
        return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if report.failed and report.when in ("setup", "call"):
            self._failed.add(item.nodeid)
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, None, None]:
        try:
            yield
        finally:
            self.ledger.owner = None
        messages = [*self._judge_test(item), *self._judge_fixtures()]
        if messages:
            pytest.fail("\n".join(messages), pytrace=False)

    def _judge_test(self, item: pytest.Item) -> list[str]:
        owner = item.nodeid
        exempt = (
            owner in self._failed
            or item.get_closest_marker(ALLOW_MARKER) is not None
            or "leak_check" in getattr(item, "fixturenames", ())
        )
        self._failed.discard(owner)
        self._give_back_to_wider_fixtures(owner)
        held = [] if exempt else self.ledger.settled(owner, self.settle)
        self.ledger.forget(owner)
        if not held:
            return []
        return [f"leakbench: {owner} left {describe(held)} after its teardown.", _TEST_HINT]

    def _give_back_to_wider_fixtures(self, test: str) -> None:
        """A connection the test took through a wider fixture's Session or Connection (a
        session-scoped ``db`` it queried without a commit) is that fixture's to return."""
        for owner, fixturedef in self._fixtures.items():
            cached = fixturedef.cached_result
            if cached is not None and cached[0] is not None:
                held = records_held_by(cached[0])
                if held:
                    self.ledger.transfer(held, test, owner)

    def _judge_fixtures(self) -> list[str]:
        """The wider fixtures torn down by now (pytest does it in the teardown of the last test
        that needs them) and what their set-up took that is still out."""
        messages: list[str] = []
        for owner in self.ledger.owners():
            if not isinstance(owner, FixtureOwner):
                continue
            fixturedef = self._fixtures.get(owner)
            if fixturedef is None or fixturedef.cached_result is not None:
                continue  # still set up: its connections may stay out until its teardown
            allowed = owner.name in self.allowed_fixtures
            held = [] if allowed else self.ledger.settled(owner, self.settle)
            self.ledger.forget(owner)
            if held:
                messages += [f"leakbench: {owner} left {describe(held)} after its teardown."]
                messages += [_FIXTURE_HINT]
        return messages
