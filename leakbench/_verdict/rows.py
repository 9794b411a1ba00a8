"""A row's verdict when it was not (only) judged from its samples. Pure, no I/O.

The analysis (:mod:`leakbench._verdict.analysis`) judges what was measured.
What happened around the measurement decides too, and is decided here, from
facts the runner hands in: the target never started or stopped answering, a
run was interrupted, the load command failed, or sessions hidden from the
role remain (least privilege in attach and watch modes).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from leakbench._results import (
    ActivitySample,
    ExternalLoad,
    Findings,
    LoadStats,
    RowResult,
    Verdict,
)


def failed(name: str, endpoint: str, error: str, *, start_failed: bool = False) -> RowResult:
    """A row that could not be measured: FAILED, with the reason."""
    return RowResult(
        name, endpoint, Verdict.FAILED, None, None, error=error, start_failed=start_failed
    )


def not_attempted(name: str, endpoint: str, failed_endpoint: str) -> RowResult:
    """A target that cannot start fails every row left; starting it again would not help."""
    return failed(
        name,
        endpoint,
        f"Not attempted: the target did not start for {failed_endpoint} (see there).",
        start_failed=True,
    )


def interrupted(name: str, endpoint: str) -> RowResult:
    """The row that was under way when the run was interrupted: no verdict."""
    return RowResult(
        name,
        endpoint,
        Verdict.INTERRUPTED,
        None,
        None,
        error="The run was interrupted during this row; it has no verdict.",
    )


@dataclass(frozen=True, slots=True)
class Unjudged:
    """What a row measured before it turned out it cannot be judged from its samples."""

    name: str
    endpoint: str
    load: LoadStats | None
    samples: tuple[ActivitySample, ...]
    external: ExternalLoad | None


def target_exited(measured: Unjudged, exit_code: int | None, log_tail: str) -> RowResult:
    """The target died during the row: FAILED, whatever the samples say."""
    return RowResult(
        measured.name,
        measured.endpoint,
        Verdict.FAILED,
        measured.load,
        None,
        measured.samples,
        error=f"The target exited with code {exit_code} during the row; {log_tail}",
        external=measured.external,
        target_exit_code=exit_code,
    )


def unreadable_after_settle(measured: Unjudged) -> RowResult:
    """No after-settle snapshot: nothing can be concluded, so INCONCLUSIVE."""
    return RowResult(
        measured.name,
        measured.endpoint,
        Verdict.INCONCLUSIVE,
        measured.load,
        None,
        measured.samples,
        error="pg_stat_activity could not be read after the settle, so the row cannot be "
        "judged; check that the server is up and accepts connections.",
        external=measured.external,
    )


def with_load_command(row: RowResult, *, judge_failed_load: bool) -> RowResult:
    """A row loaded by a command that failed is FAILED, unless told to judge it anyway."""
    external = row.external
    if external is None or not external.failed:
        return row
    if external.stopped:
        what = f"was stopped after {external.elapsed_seconds:.1f} s (its time limit or a stop)"
    else:
        what = f"exited with code {external.exit_code}"
    output = f"; its output ends: {external.output_tail}" if external.output_tail else ""
    if row.verdict in (Verdict.FAILED, Verdict.INTERRUPTED):
        return dataclasses.replace(row, error=_join(row.error, f"The load command {what}{output}"))
    if judge_failed_load:
        note = f"The load command {what} (judged anyway: --judge-failed-load){output}"
        return dataclasses.replace(row, error=_join(row.error, note))
    # What was measured stays in the row (its reasons are still true); it is just not the verdict.
    findings = row.findings
    if findings is not None:
        findings = dataclasses.replace(findings, verdict=Verdict.FAILED)
    return dataclasses.replace(
        row,
        verdict=Verdict.FAILED,
        findings=findings,
        error=f"The load command {what}, so the row is not judged; fix the command, or pass "
        f"--judge-failed-load to judge the connections anyway{output}",
    )


def may_hide_a_leak(row: RowResult) -> bool:
    """Whether sessions hidden from the role could change this row's verdict."""
    return row.findings is not None and row.verdict in (Verdict.CLEAN, Verdict.INCONCLUSIVE)


def with_hidden_sessions(row: RowResult, hidden_reason: str | None) -> RowResult:
    """A clean (or no-connection) row is INCONCLUSIVE while sessions hidden from us remain."""
    findings: Findings | None = row.findings
    if hidden_reason is None or findings is None or not may_hide_a_leak(row):
        return row
    reasons = (hidden_reason, *findings.reasons)
    findings = dataclasses.replace(findings, verdict=Verdict.INCONCLUSIVE, reasons=reasons)
    return dataclasses.replace(row, verdict=Verdict.INCONCLUSIVE, findings=findings)


def _join(first: str | None, second: str) -> str:
    return f"{first} {second}" if first else second
