"""A fixed-size, log-bucketed latency histogram (HdrHistogram in spirit).

Memory is constant whatever the number of requests: about 1,900 integer
buckets cover 10 microseconds to 120 seconds with 1 % relative precision.
"""

from __future__ import annotations

import math

from leakbench._results import LatencySummary

_MIN_SECONDS = 1e-5
_MAX_SECONDS = 120.0
_GROWTH = 1.01
_LOG_GROWTH = math.log(_GROWTH)
_BUCKETS = int(math.log(_MAX_SECONDS / _MIN_SECONDS) / _LOG_GROWTH) + 2


_LOG_MIN = math.log(_MIN_SECONDS)
_PER_LOG = 1 / _LOG_GROWTH


def _bucket_of(seconds: float) -> int:
    if seconds <= _MIN_SECONDS:
        return 0
    index = int((math.log(seconds) - _LOG_MIN) * _PER_LOG) + 1
    return min(index, _BUCKETS - 1)


def _upper_bound(index: int) -> float:
    """The largest latency bucket ``index`` holds (so percentiles never flatter)."""
    return _MIN_SECONDS * _GROWTH**index


class LatencyHistogram:
    """Counts of request latencies; percentiles within 1 % of the exact value."""

    __slots__ = ("_counts", "count", "max_seconds", "total_seconds")

    def __init__(self) -> None:
        self._counts = [0] * _BUCKETS
        self.count = 0
        self.total_seconds = 0.0
        self.max_seconds = 0.0

    def record(self, seconds: float) -> None:
        self._counts[_bucket_of(seconds)] += 1
        self.count += 1
        self.total_seconds += seconds
        self.max_seconds = max(self.max_seconds, seconds)

    def merge(self, other: LatencyHistogram) -> None:
        for index, value in enumerate(other._counts):
            if value:
                self._counts[index] += value
        self.count += other.count
        self.total_seconds += other.total_seconds
        self.max_seconds = max(self.max_seconds, other.max_seconds)

    def percentile(self, fraction: float) -> float:
        """The latency in seconds under which ``fraction`` (0..1) of requests fell."""
        if not 0 <= fraction <= 1:
            raise ValueError(f"percentile fraction {fraction} is outside 0..1")
        if self.count == 0:
            return 0.0
        rank = max(1, math.ceil(fraction * self.count))
        seen = 0
        for index, value in enumerate(self._counts):
            seen += value
            if seen >= rank:
                return min(_upper_bound(index), self.max_seconds)
        return self.max_seconds

    def summary(self) -> LatencySummary:
        """Percentiles in milliseconds."""
        mean = self.total_seconds / self.count if self.count else 0.0
        return LatencySummary(
            p50=round(self.percentile(0.50) * 1000, 3),
            p95=round(self.percentile(0.95) * 1000, 3),
            p99=round(self.percentile(0.99) * 1000, 3),
            max=round(self.max_seconds * 1000, 3),
            mean=round(mean * 1000, 3),
        )
