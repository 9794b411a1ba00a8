"""Target fixtures: real uvicorn processes running shipped scenarios or test apps.

Loaded as a pytest plugin (see pyproject's addopts).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from leakbench import scenarios
from leakbench._settings import Target
from leakbench._settings import dsn as dsn_tools
from leakbench._settings.target_names import scenario_target
from leakbench._targets.process import TargetProcess

StartTarget = Callable[[Target], TargetProcess]


def target_env(
    admin_dsn: str, database: str, pool_size: int = 2, max_overflow: int = 10
) -> dict[str, str]:
    """The environment leakbench gives a target, built the same way."""
    params = dsn_tools.validate(dsn_tools.with_database(admin_dsn, database))
    import os  # noqa: PLC0415 - keep the fixture module's top light

    return {
        **os.environ,
        "DATABASE_URL": dsn_tools.to_url(params),
        "LEAKBENCH_POOL_SIZE": str(pool_size),
        "LEAKBENCH_MAX_OVERFLOW": str(max_overflow),
        "LEAKBENCH_POOL_TIMEOUT": "5",
    }


@pytest.fixture
def start_target(embedded_dsn: str, owned_database: str, tmp_path: Path) -> Iterator[StartTarget]:
    """Start targets on the test's own database; all are stopped at the end."""
    started: list[TargetProcess] = []

    def start(target: Target) -> TargetProcess:
        process = TargetProcess(
            target, target_env(embedded_dsn, owned_database), tmp_path / f"t{len(started)}"
        )
        started.append(process)
        process.start()
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture(autouse=True)
def _work_in_a_temporary_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs write ./reports/<timestamp>/ by default; keep that out of the repository.

    The command's output is as wide as a common terminal whatever runs the tests
    (a terminal, a pipe, a pytest-xdist worker): rich reads COLUMNS, and below
    about 100 columns the table drops its box (tests/unit/test_terminal_fit.py).
    """
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "120")


def scenario(name: str) -> Target:
    found = scenarios.by_name(name)
    assert found is not None, name
    return scenario_target(found)
