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
