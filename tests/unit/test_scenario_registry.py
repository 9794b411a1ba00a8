"""The scenario registry: every scenario once, with a known twin and a leak kind when it leaks."""

from __future__ import annotations

from leakbench import scenarios


def test_every_scenario_is_registered_once_with_a_known_twin() -> None:
    names = [s.name for s in scenarios.SCENARIOS]
    assert len(names) == len(set(names))
    modules = [s.module for s in scenarios.SCENARIOS]
    assert len(modules) == len(set(modules))
    for scenario in scenarios.SCENARIOS:
        assert scenario.twin is None or scenario.twin in names, scenario.name
        assert scenario.twin != scenario.name
        assert (scenario.leak_kind is None) == (scenario.expected == "CLEAN"), scenario.name
        assert (scenario.leave_leak_kind is None) == (
            scenario.when_clients_leave in (None, "CLEAN")
        ), scenario.name


def test_a_scenario_that_cancels_is_measured_with_clients_that_leave() -> None:
    # Its handlers are cancelled only by clients that leave: without that run, nothing is.
    cancelling = [s for s in scenarios.SCENARIOS if s.cancels]
    assert cancelling
    for scenario in cancelling:
        assert scenario.when_clients_leave is not None, scenario.name
        # INCONCLUSIVE for PostgreSQL's FATAL count is allowed only beside a CLEAN verdict.
        assert not scenario.leave_client_lost or scenario.when_clients_leave == "CLEAN"
