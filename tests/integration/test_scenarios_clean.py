"""Every shipped CLEAN scenario is CLEAN, on real PostgreSQL (tests/integration/scenario_runs.py).

One ``leakbench.run()`` per scenario covers all its endpoints (a row each, on a
fresh target process and database of the shared embedded server). A new
scenario is picked up by the parametrisation, so it cannot ship without a
verdict that holds. The registry's own checks are in
tests/unit/test_scenario_registry.py.
"""

from __future__ import annotations

import pytest

from leakbench import scenarios
from leakbench._results import Verdict
from tests.integration.scenario_runs import Rows, check_expected_verdict, explain, measure

# A scenario that cancels is measured with full reads beside its leaving clients
# (test_scenarios_leaving.py), which its cancellation counts are compared with.
CLEAN = [s for s in scenarios.SCENARIOS if s.expected == "CLEAN" and not s.cancels]


@pytest.fixture(scope="module")
def rows(embedded_dsn: str) -> Rows:
    return measure(CLEAN, embedded_dsn)


@pytest.mark.parametrize("scenario", CLEAN, ids=lambda s: s.name)
def test_scenario_earns_its_expected_verdict(scenario: scenarios.Scenario, rows: Rows) -> None:
    check_expected_verdict(scenario, rows[scenario.name])


def test_the_slow_transaction_trap_is_clean_while_its_load_shows_idle_in_transaction(
    rows: Rows,
) -> None:
    for row in rows["slow-transaction"]:
        assert row.findings is not None
        assert row.verdict is Verdict.CLEAN, explain(row)
        # What a single snapshot during the load would call a leak.
        assert row.findings.peak_idle_in_transaction > 0, explain(row)
        assert row.findings.after_settle.in_transaction == 0
