"""Every shipped LEAKED scenario is LEAKED, of its own kind (tests/integration/scenario_runs.py)."""

from __future__ import annotations

import pytest

from leakbench import scenarios
from tests.integration.scenario_runs import Rows, check_expected_verdict, measure

NOT_CLEAN = [s for s in scenarios.SCENARIOS if s.expected != "CLEAN" and not s.cancels]


@pytest.fixture(scope="module")
def rows(embedded_dsn: str) -> Rows:
    return measure(NOT_CLEAN, embedded_dsn)


@pytest.mark.parametrize("scenario", NOT_CLEAN, ids=lambda s: s.name)
def test_scenario_earns_its_expected_verdict(scenario: scenarios.Scenario, rows: Rows) -> None:
    check_expected_verdict(scenario, rows[scenario.name])
