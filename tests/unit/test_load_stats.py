"""LoadStats' derived figures, the driver's self-check, and their trip through the JSON report."""

from __future__ import annotations

import json

import pytest

from leakbench._output.reports import json as report_json
from leakbench._results import (
    LatencySummary,
    LoadStats,
    RowResult,
    Verdict,
)
from leakbench._verdict.outcome import judge
from tests.factories import run_result


def stats(*, cpu: float = 0.0, cpu_wait: float = 0.0, elapsed: float = 10.0) -> LoadStats:
    return LoadStats(
        sent=110,
        status_counts=((200, 60), (500, 30)),
        transport_errors=3,
        timeouts=2,
        elapsed_seconds=elapsed,
        latency=LatencySummary(p50=1.5, p95=4.0, p99=9.0, max=12.0, mean=2.0),
        concurrency=10,
        driver_cpu_seconds=cpu,
        disconnects=15,
        driver_cpu_wait_seconds=cpu_wait,
    )


def test_disconnects_complete_requests_but_are_not_driver_errors() -> None:
    load = stats()

    assert load.completed == 60 + 30 + 3 + 2 + 15 == load.sent
    assert load.errors == 5
    assert load.exercised == 90


@pytest.mark.parametrize(
    ("cpu", "cpu_wait", "saturated"),
    [
        (1.5, 1.0, False),  # waiting on the app most of the time (as on /ok: 15-30 % busy)
        (9.5, 0.0, True),  # a whole core
        (3.5, 5.0, True),  # starved of CPU on a busy machine: little CPU, always ready to run
        (5.0, 2.9, False),
    ],
)
def test_the_driver_is_saturated_when_busy_or_starved(
    cpu: float, cpu_wait: float, saturated: bool
) -> None:
    assert stats(cpu=cpu, cpu_wait=cpu_wait).driver_saturated is saturated


def test_no_elapsed_time_is_never_saturated() -> None:
    assert not stats(cpu=1.0, elapsed=0.0).driver_saturated


def test_the_json_report_keeps_the_driver_figures() -> None:
    load = stats(cpu=2.25, cpu_wait=0.5)
    result = run_result(
        RowResult("with-session", "/error", Verdict.CLEAN, load, None), rate_per_second=250.0
    )

    data = json.loads(json.dumps(report_json.to_dict(result, judge(result))))
    again = report_json.from_dict(data)

    assert data["rows"][0]["load"]["disconnects"] == 15
    assert again.rows[0].load == load
    assert again.settings.rate_per_second == 250.0
