"""The unit lane stays pure: no PostgreSQL, no child process (so no uvicorn target).

A test here that asks for a server fixture is refused at collection, and one
that starts a process fails, so the lane stays fast and a slow test cannot
creep in unnoticed; such a test belongs in tests/integration.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, NoReturn

import pytest

SERVER_FIXTURES = frozenset(
    {"embedded_dsn", "external_server_dsn", "owned_database", "start_target"}
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        wanted = SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        if wanted and item.path.is_relative_to(Path(__file__).parent):
            raise pytest.UsageError(
                f"{item.nodeid} uses {', '.join(sorted(wanted))}: "
                "a test with a real server belongs in tests/integration."
            )


@pytest.fixture(autouse=True)
def _no_child_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **_kwargs: Any) -> NoReturn:
        raise AssertionError(
            f"a unit test started a process ({args[1] if len(args) > 1 else args}); "
            "move it to tests/integration."
        )

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
