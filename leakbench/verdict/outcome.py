"""A run's outcome, judged once: which thresholds failed, and the exit code. Pure: no I/O.

Every renderer (the terminal, report.json, report.md, report.html, junit.xml)
receives the same :class:`Outcome`, so none of them can judge a run
differently from the exit code. The limits are read from the run's recorded
settings, so ``leakbench report`` judges a saved run as ``leakbench run`` did.
"""

from __future__ import annotations

from dataclasses import dataclass

from leakbench.results import RowResult, RunResult
from leakbench.verdict.thresholds import ThresholdFailure, Thresholds, evaluate, exit_code


@dataclass(frozen=True, slots=True)
class Outcome:
    """The thresholds a run was judged by, every failure, and the exit code they give."""

    thresholds: Thresholds
    failures: tuple[ThresholdFailure, ...]
    exit_code: int

    @property
    def passed(self) -> bool:
        """True when no threshold failed (a leak counts, unless ``--no-fail-on-leak``)."""
        return not self.failures

    def failures_of(self, row: RowResult) -> tuple[ThresholdFailure, ...]:
        """The failures of one row, in threshold order."""
        return tuple(
            f for f in self.failures if (f.pattern, f.endpoint) == (row.pattern, row.endpoint)
        )


def judge(result: RunResult) -> Outcome:
    """Evaluate the run's recorded thresholds against its rows."""
    thresholds = Thresholds.from_settings(result.settings)
    failures = evaluate(result, thresholds)
    return Outcome(thresholds, failures, exit_code(result, failures))
