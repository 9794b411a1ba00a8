"""Pass/fail limits for CI, in the spirit of k6's thresholds. Pure: no I/O here.

A run's rows carry verdicts; thresholds turn them, and the load figures, into
the answer a CI job needs: did anything cross a line the user drew? A LEAKED
row is one such line (``fail_on_leak``, on by default); the others are opt-in
ceilings on connections, transport errors and latency.

The limits are recorded in the run's :class:`~leakbench._results.RunSettings`,
so a saved report is judged again the same way (``leakbench report``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from leakbench._results import RowResult, RunResult, RunSettings, Verdict
from leakbench.errors import (
    EXIT_CLEAN,
    EXIT_INCONCLUSIVE,
    EXIT_LEAKED,
    EXIT_RUN_FAILED,
    UsageError,
)


class ThresholdName(StrEnum):
    """Each threshold, named as its command-line option."""

    FAIL_ON_LEAK = "fail-on-leak"
    MAX_TOTAL_CONNECTIONS = "max-total-connections"
    MAX_ERROR_RATE = "max-error-rate"
    MAX_P95_MS = "max-p95-ms"


def parse_rate(text: str) -> float:
    """Parse an error rate given as a fraction (``0.05``) or a percentage (``5%``)."""
    raw = text.strip()
    percent = raw.endswith("%")
    try:
        value = float(raw.removesuffix("%").strip())
    except ValueError:
        raise UsageError(
            f"--max-error-rate {text!r} is not a number; give a fraction such as 0.01 or 1%."
        ) from None
    rate = value / 100 if percent else value
    if not (math.isfinite(rate) and 0 <= rate <= 1):
        raise UsageError(f"--max-error-rate {text!r} is out of range; give 0 to 1 (or 0% to 100%).")
    return rate


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The limits a run must stay within; ``None`` leaves a limit unset."""

    fail_on_leak: bool = True
    max_total_connections: int | None = None
    max_error_rate: float | None = None
    max_p95_ms: float | None = None

    def __post_init__(self) -> None:
        if self.max_total_connections is not None and self.max_total_connections < 1:
            raise UsageError(
                f"--max-total-connections {self.max_total_connections} is invalid; give 1 or more."
            )
        rate = self.max_error_rate
        if rate is not None and not (math.isfinite(rate) and 0 <= rate <= 1):
            raise UsageError(f"--max-error-rate {rate:g} is out of range; give 0 to 1.")
        p95 = self.max_p95_ms
        if p95 is not None and not (math.isfinite(p95) and p95 > 0):
            raise UsageError(
                f"--max-p95-ms {p95:g} is invalid; give a positive number of milliseconds."
            )

    @classmethod
    def from_settings(cls, settings: RunSettings) -> Thresholds:
        """The thresholds a run recorded (a report from before thresholds gets defaults)."""
        return cls(
            fail_on_leak=settings.fail_on_leak,
            max_total_connections=settings.max_total_connections,
            max_error_rate=settings.max_error_rate,
            max_p95_ms=settings.max_p95_ms,
        )


@dataclass(frozen=True, slots=True)
class ThresholdFailure:
    """One threshold one row crossed. ``observed``/``limit`` are None for a leak."""

    threshold: ThresholdName
    target: str
    endpoint: str
    observed: float | None
    limit: float | None
    message: str

    @property
    def row(self) -> str:
        return f"{self.target} {self.endpoint}"


def _leak(row: RowResult) -> ThresholdFailure:
    reasons = row.findings.reasons if row.findings else ()
    because = f": {' '.join(reasons)}" if reasons else "."
    return ThresholdFailure(
        ThresholdName.FAIL_ON_LEAK,
        row.target,
        row.endpoint,
        None,
        None,
        f"{row.target} {row.endpoint} is LEAKED{because}",
    )


def _numeric(row: RowResult, thresholds: Thresholds) -> list[ThresholdFailure]:
    """The opt-in ceilings; a row without load figures or findings has nothing to check."""
    failures: list[ThresholdFailure] = []
    name = f"{row.target} {row.endpoint}"
    findings, limit = row.findings, thresholds.max_total_connections
    if findings is not None and limit is not None:
        peak = findings.peak_total_connections
        if peak > limit:
            failures.append(
                ThresholdFailure(
                    ThresholdName.MAX_TOTAL_CONNECTIONS,
                    row.target,
                    row.endpoint,
                    peak,
                    limit,
                    f"{name} reached {peak} connections, above the limit of {limit}.",
                )
            )
    load = row.load
    if load is None:
        return failures
    rate = thresholds.max_error_rate
    if rate is not None and load.completed and load.error_rate > rate:
        failures.append(
            ThresholdFailure(
                ThresholdName.MAX_ERROR_RATE,
                row.target,
                row.endpoint,
                load.error_rate,
                rate,
                f"{name} had {load.errors} transport errors and timeouts in "
                f"{load.completed} requests ({load.error_rate:.2%}), above the limit of "
                f"{rate:.2%}.",
            )
        )
    p95 = thresholds.max_p95_ms
    if p95 is not None and load.completed and load.latency.p95 > p95:
        failures.append(
            ThresholdFailure(
                ThresholdName.MAX_P95_MS,
                row.target,
                row.endpoint,
                load.latency.p95,
                p95,
                f"{name} had a p95 latency of {load.latency.p95:,.1f} ms, "
                f"above the limit of {p95:g} ms.",
            )
        )
    return failures


def evaluate(result: RunResult, thresholds: Thresholds) -> tuple[ThresholdFailure, ...]:
    """Every threshold every row crossed, in row order."""
    failures: list[ThresholdFailure] = []
    for row in result.rows:
        if thresholds.fail_on_leak and row.verdict is Verdict.LEAKED:
            failures.append(_leak(row))
        failures.extend(_numeric(row, thresholds))
    return tuple(failures)


def exit_code(result: RunResult, failures: Sequence[ThresholdFailure]) -> int:
    """1 when a threshold failed (a leak counts unless ``fail_on_leak`` is off), else the rows'.

    LEAKED rows that no threshold failed on (``--no-fail-on-leak``) count as
    judged, so they do not make the exit code 1.
    """
    if failures:
        return EXIT_LEAKED
    verdicts = {row.verdict for row in result.rows}
    if Verdict.FAILED in verdicts:
        return EXIT_RUN_FAILED
    if not result.rows or verdicts & {Verdict.INCONCLUSIVE, Verdict.INTERRUPTED}:
        return EXIT_INCONCLUSIVE
    return EXIT_CLEAN
