"""Splitting a load over driver processes, and merging their figures exactly (pure)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leakbench._load.driver import LoadPlan
from leakbench._load.histogram import LatencyHistogram
from leakbench._load.processes import default_processes, merge, plans_for, split
from leakbench._results import LatencySummary, LoadStats
from leakbench._settings import Endpoint, LoadSettings
from leakbench.errors import UsageError

PLAN = LoadPlan("http://127.0.0.1:1", Endpoint("POST", "/ok"), concurrency=10, duration=5.0)


@given(st.integers(0, 10_000), st.integers(1, 64))
def test_a_split_adds_up_and_differs_by_one_at_most(total: int, parts: int) -> None:
    shares = split(total, parts)
    assert sum(shares) == total and len(shares) == parts
    assert max(shares) - min(shares) <= 1


def test_plans_share_connections_requests_and_rate() -> None:
    plans = plans_for(replace(PLAN, concurrency=5, requests=101, rate=50.0), 2)
    assert [p.concurrency for p in plans] == [3, 2]
    assert [p.requests for p in plans] == [51, 50]
    assert [p.rate for p in plans] == [30.0, 20.0]  # in proportion to the connections
    # Never more processes than connections, nor one with no request to send.
    assert len(plans_for(replace(PLAN, concurrency=3), 8)) == 3
    assert [p.requests for p in plans_for(replace(PLAN, concurrency=4, requests=2), 4)] == [1, 1]


@pytest.mark.parametrize(
    ("workers", "cores", "expected"),
    [(1, 2, 1), (2, 2, 1), (4, 2, 1), (1, 8, 1), (4, 8, 4), (6, 8, 2)],
)
def test_the_default_leaves_the_target_its_cores(workers: int, cores: int, expected: int) -> None:
    assert default_processes(workers, cores) == expected


def test_a_driver_processes_count_out_of_range_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"--driver-processes 0 is out of range; give 1 to 64"):
        LoadSettings(driver_processes=0)


def _stats(histogram: LatencyHistogram, statuses: tuple[tuple[int, int], ...]) -> LoadStats:
    return LoadStats(
        sent=histogram.count,
        status_counts=statuses,
        transport_errors=0,
        timeouts=0,
        elapsed_seconds=2.0,
        latency=histogram.summary(),
        concurrency=5,
        driver_cpu_seconds=1.0,
    )


def test_merged_percentiles_are_those_of_every_request_not_an_average() -> None:
    fast = [0.001 + i * 1e-6 for i in range(900)]  # one process: quick answers
    slow = [0.100 + i * 1e-3 for i in range(100)]  # the other: a slow tail
    parts, everything = [], LatencyHistogram()
    for latencies in (fast, slow):
        histogram = LatencyHistogram()
        for seconds in latencies:
            histogram.record(seconds)
            everything.record(seconds)
        parts.append((_stats(histogram, ((200, len(latencies)),)), histogram))
    merged = merge(parts, processes=2)
    assert merged.latency == everything.summary()
    # Averaging the two p50s would say about 75 ms; 90 % of requests took under 2 ms.
    assert merged.latency.p50 < 2.1
    assert merged.status_counts == ((200, 1000),) and merged.sent == 1000
    assert merged.concurrency == 10 and merged.driver_processes == 2
    # Two processes each busy half the time: not saturated, though their CPU adds to 2 s.
    assert merged.driver_cpu_seconds == 2.0 and not merged.driver_saturated
    assert isinstance(merged.latency, LatencySummary)
