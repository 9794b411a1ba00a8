"""Requests on a route that raises are answered: a fresh connection after every 5xx.

uvicorn closes a connection after the app raised, just after the 500 went
out; a request written on it meanwhile would never be answered.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakbench import LoadSettings, RunConfig, VerdictSettings, run, scenarios
from leakbench._load.driver import LoadPlan, run_load
from leakbench._settings import Endpoint, Target
from leakbench._settings.target_names import scenario_target
from leakbench._targets.process import TargetProcess


@pytest.fixture(scope="module")
def raising(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetProcess]:
    app = Target("raising", "raising_app:app", kind="app", app_dir=Path(__file__).parent)
    with TargetProcess(app, dict(os.environ), tmp_path_factory.mktemp("raising")) as process:
        yield process


def test_every_request_to_a_raising_route_is_answered(raising: TargetProcess) -> None:
    plan = LoadPlan(
        base_url=raising.base_url,
        endpoint=Endpoint("POST", "/error"),
        concurrency=10,
        duration=30.0,
        requests=200,
    )
    stats = run_load(plan)

    assert stats.status_counts == ((500, 200),)
    assert stats.disconnects == 0
    assert stats.errors == 0
    assert stats.rps == pytest.approx(200 / stats.elapsed_seconds)


@pytest.mark.slow
def test_a_with_session_error_row_serves_its_load(embedded_dsn: str) -> None:
    result = run(
        RunConfig(
            targets=(scenario_target(scenarios.by_name("with-session")),),
            endpoints=(Endpoint("POST", "/error"),),
            load=LoadSettings(concurrency=40, duration=2.0, request_timeout=5.0),
            verdict=VerdictSettings(settle=3.0),
            dsn=embedded_dsn,
        )
    )
    (row,) = result.rows
    assert row.load is not None
    # Before: about half the requests were written on connections uvicorn was closing.
    assert row.load.responses > 0
    assert row.load.server_errors == row.load.responses
    assert row.load.disconnects <= row.load.responses // 100
