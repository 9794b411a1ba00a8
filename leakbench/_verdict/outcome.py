"""A run's outcome, judged once: which thresholds failed, and the exit code. Pure: no I/O.

Every renderer (the terminal, report.json, report.md, report.html, junit.xml)
receives the same :class:`Outcome`, so none of them can judge a run
differently from the exit code. The limits are read from the run's recorded
settings, so ``leakbench report`` judges a saved run as ``leakbench run`` did.
``leakbench matrix`` judges each column as ``run`` judges a run (:func:`judge_matrix`).
"""

from __future__ import annotations

from dataclasses import dataclass

from leakbench._results import MatrixResult, RowResult, RunResult, Verdict
from leakbench._verdict.thresholds import ThresholdFailure, Thresholds, evaluate, exit_code
from leakbench.errors import EXIT_CLEAN, EXIT_INCONCLUSIVE, EXIT_LEAKED, EXIT_RUN_FAILED


@dataclass(frozen=True, slots=True)
class Outcome:
    """The thresholds a run was judged by, every failure, and the exit code they give."""

    thresholds: Thresholds
    failures: tuple[ThresholdFailure, ...]
    exit_code: int
    # The run's verdict: its worst row's (see :func:`run_verdict`).
    verdict: Verdict

    @property
    def passed(self) -> bool:
        """True when no threshold failed (a leak counts, unless ``--no-fail-on-leak``)."""
        return not self.failures

    def failures_of(self, row: RowResult) -> tuple[ThresholdFailure, ...]:
        """The failures of one row, in threshold order."""
        return tuple(
            f for f in self.failures if (f.target, f.endpoint) == (row.target, row.endpoint)
        )


def judge(result: RunResult) -> Outcome:
    """Evaluate the run's recorded thresholds against its rows."""
    thresholds = Thresholds.from_settings(result.settings)
    failures = evaluate(result, thresholds)
    return Outcome(thresholds, failures, exit_code(result, failures), run_verdict(result))


def run_verdict(result: RunResult) -> Verdict:
    """The worst row wins: LEAKED over FAILED over INCONCLUSIVE over CLEAN."""
    verdicts = {row.verdict for row in result.rows}
    for worst in (Verdict.LEAKED, Verdict.FAILED, Verdict.INTERRUPTED, Verdict.INCONCLUSIVE):
        if worst in verdicts:
            return worst
    if result.interrupted:
        return Verdict.INTERRUPTED
    return Verdict.CLEAN if result.rows else Verdict.INCONCLUSIVE


@dataclass(frozen=True, slots=True)
class MatrixOutcome:
    """Each column's outcome (``None`` where nothing ran), and the matrix's exit code."""

    columns: tuple[Outcome | None, ...]
    exit_code: int


# Which column's exit code the matrix's is, the first found in this order: a leak or a
# failed threshold (1), then a run that failed (3), then an inconclusive one (4).
_EXIT_PRECEDENCE = (EXIT_LEAKED, EXIT_RUN_FAILED, EXIT_INCONCLUSIVE)


def judge_matrix(result: MatrixResult) -> MatrixOutcome:
    """Judge every column once; the exit code is ``run``'s, over every column.

    A matrix where no column ran anything (every target "n/a") is inconclusive.
    """
    outcomes = tuple(
        judge(column.result) if column.result is not None else None for column in result.columns
    )
    codes = {outcome.exit_code for outcome in outcomes if outcome is not None}
    if not codes:
        return MatrixOutcome(outcomes, EXIT_INCONCLUSIVE)
    code = next((code for code in _EXIT_PRECEDENCE if code in codes), EXIT_CLEAN)
    return MatrixOutcome(outcomes, code)
