"""The latency histogram: percentiles within 1 % of the exact ones, in constant memory."""

from __future__ import annotations

import math
import random
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leakbench._load.histogram import LatencyHistogram

FRACTIONS = (0.0, 0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1.0)
latencies = st.lists(st.floats(min_value=1e-5, max_value=100.0), min_size=1, max_size=400)


def exact(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile, the definition the histogram follows."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


@given(latencies)
def test_percentiles_are_within_one_percent_and_never_below(values: list[float]) -> None:
    histogram = LatencyHistogram()
    for value in values:
        histogram.record(value)

    for fraction in FRACTIONS:
        truth = exact(values, fraction)
        found = histogram.percentile(fraction)
        assert truth <= found * (1 + 1e-9)
        assert found <= truth * 1.01 * (1 + 1e-9)


def test_a_large_skewed_sample() -> None:
    rng = random.Random(4)  # noqa: S311 - a seeded sample, not a secret
    values = [rng.lognormvariate(-3, 1.5) for _ in range(50_000)]
    histogram = LatencyHistogram()
    for value in values:
        histogram.record(value)

    for fraction in FRACTIONS:
        assert histogram.percentile(fraction) == pytest.approx(exact(values, fraction), rel=0.01)
    assert histogram.count == 50_000
    assert histogram.max_seconds == max(values)


def test_memory_does_not_grow_with_the_number_of_requests() -> None:
    rng = random.Random(7)  # noqa: S311 - a seeded sample, not a secret
    histogram = LatencyHistogram()
    tracemalloc.start()
    try:
        for _ in range(20_000):
            histogram.record(rng.expovariate(20))
        after_few = tracemalloc.get_traced_memory()[0]
        for _ in range(200_000):
            histogram.record(rng.expovariate(20))
        grown = tracemalloc.get_traced_memory()[0] - after_few
    finally:
        tracemalloc.stop()

    assert histogram.count == 220_000
    # Ten times the requests: the only growth is counters passing 256 and leaving
    # CPython's small-int cache (a few KiB at most); 8 bytes per request would be 1.6 MB.
    assert grown < 16 * 1024


def test_merge_adds_counts() -> None:
    first, second, both = LatencyHistogram(), LatencyHistogram(), LatencyHistogram()
    for index, value in enumerate([0.001 * n for n in range(1, 301)]):
        (first if index % 2 else second).record(value)
        both.record(value)

    first.merge(second)

    assert first.count == both.count == 300
    assert [first.percentile(f) for f in FRACTIONS] == [both.percentile(f) for f in FRACTIONS]


def test_an_empty_histogram_and_a_bad_fraction() -> None:
    histogram = LatencyHistogram()
    assert histogram.percentile(0.99) == 0.0
    assert histogram.summary().p99 == 0.0
    with pytest.raises(ValueError, match=r"outside 0\.\.1"):
        histogram.percentile(1.5)
