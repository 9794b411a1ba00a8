"""Every shipped scenario earns the verdict its registry entry promises, on real PostgreSQL.

One ``leakbench.run()`` per scenario covers all its endpoints (a row each,
on a fresh target process and database of the shared embedded server). A
new scenario is picked up by the parametrisation, so it cannot ship without
a verdict that holds.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import scenarios
from leakbench import LoadSettings, PoolSettings, RunConfig, VerdictSettings, run
from leakbench.results import LeakKind, RowResult, Verdict
from leakbench.target.specs import scenario_target
from tests.consistency import contradictions

# Small load, as CI runs this on 2 cores. When a leak drains the pool, requests
# wait for it: short client and pool timeouts keep such rows (and the target's
# shutdown, which waits for them) from lasting the defaults' 10 and 30 s.
LOAD = LoadSettings(concurrency=40, duration=1.5, request_timeout=2.0)
POOL = PoolSettings(pool_size=2, max_overflow=10, pool_timeout=2.0)
VERDICT = VerdictSettings(settle=3.0)


RunScenario = Callable[[scenarios.Scenario], tuple[RowResult, ...]]


@pytest.fixture(scope="module")
def run_scenario(embedded_dsn: str) -> RunScenario:
    """Run a scenario (all its endpoints, one run() call) once per module; later asks reuse it."""
    done: dict[str, tuple[RowResult, ...]] = {}

    def measure(scenario: scenarios.Scenario) -> tuple[RowResult, ...]:
        if scenario.name not in done:
            result = run(
                RunConfig(
                    targets=(scenario_target(scenario),),
                    load=LOAD,
                    pool=POOL,
                    verdict=VERDICT,
                    dsn=embedded_dsn,
                )
            )
            assert len(result.rows) == len(scenario.endpoints)
            done[scenario.name] = result.rows
        return done[scenario.name]

    return measure


def explain(row: RowResult) -> str:
    reasons = row.findings.reasons if row.findings else ()
    return f"{row.pattern} {row.endpoint}: {row.verdict} {row.error or ''} {' | '.join(reasons)}"


@pytest.mark.slow
@pytest.mark.parametrize("scenario", scenarios.SCENARIOS, ids=lambda s: s.name)
def test_scenario_earns_its_expected_verdict(
    scenario: scenarios.Scenario, run_scenario: RunScenario
) -> None:
    for row in run_scenario(scenario):
        assert row.verdict == Verdict(scenario.expected), explain(row)
        assert row.findings is not None and row.load is not None
        # The database proves the requests reached it, whatever status they got.
        assert row.findings.pool_checkouts, explain(row)
        assert row.findings.connections_used or row.findings.new_sessions, explain(row)
        assert contradictions(row.findings) == [], explain(row)
        if scenario.expected == "CLEAN":
            assert row.findings.leak_kind is LeakKind.NONE, explain(row)
            assert row.findings.after_settle.in_transaction == 0, explain(row)
        else:
            assert scenario.leak_kind is not None, "a LEAKED scenario names its leak kind"
            assert row.findings.leak_kind is LeakKind(scenario.leak_kind), explain(row)
            assert row.findings.leaked_connections > 0, explain(row)
            if row.findings.pool_leaked_connections:
                # The probe names the scenario's own line that took each kept connection.
                sites = row.findings.leak_sites
                assert sites and all("scenarios/" in s.file for s in sites), explain(row)
                assert sum(s.count for s in sites) == row.findings.pool_leaked_connections


@pytest.mark.slow
def test_the_slow_transaction_trap_is_clean_while_its_load_shows_idle_in_transaction(
    run_scenario: RunScenario,
) -> None:
    trap = scenarios.by_name("slow-transaction")
    assert trap is not None
    for row in run_scenario(trap):
        assert row.findings is not None
        assert row.verdict is Verdict.CLEAN, explain(row)
        # What a single snapshot during the load would call a leak.
        assert row.findings.peak_idle_in_transaction > 0, explain(row)
        assert row.findings.after_settle.in_transaction == 0


def test_every_scenario_is_registered_once_with_a_known_twin() -> None:
    names = [s.name for s in scenarios.SCENARIOS]
    assert len(names) == len(set(names))
    modules = [s.module for s in scenarios.SCENARIOS]
    assert len(modules) == len(set(modules))
    for scenario in scenarios.SCENARIOS:
        assert scenario.twin is None or scenario.twin in names, scenario.name
        assert scenario.twin != scenario.name
        assert (scenario.leak_kind is None) == (scenario.expected == "CLEAN"), scenario.name
