"""What happened around a row's measurement decides its verdict too (leakbench._verdict.rows)."""

from __future__ import annotations

import dataclasses

from leakbench._results import ActivitySample, ExternalLoad, Findings, Phase, RowResult, Verdict
from leakbench._verdict import rows

QUIET = ActivitySample(t=0.0, phase=Phase.BASELINE, idle=1)


def _judged(verdict: Verdict, external: ExternalLoad | None = None) -> RowResult:
    findings = Findings(
        verdict=verdict,
        reasons=("measured",),
        baseline=QUIET,
        after_settle=dataclasses.replace(QUIET, phase=Phase.FINAL),
        peak_idle_in_transaction=0,
        peak_active=0,
        peak_total_connections=1,
        peak_oldest_transaction_seconds=None,
        settled=True,
        settle_seconds=0.1,
        leaked_connections=0,
    )
    return RowResult("watch", "$ wrk", verdict, None, findings, external=external)


FAILED_COMMAND = ExternalLoad(command="wrk", elapsed_seconds=1.0, exit_code=2, output_tail="oops")


def test_a_failed_load_command_fails_a_clean_row_but_keeps_what_was_measured() -> None:
    row = rows.with_load_command(_judged(Verdict.CLEAN, FAILED_COMMAND), judge_failed_load=False)
    assert row.verdict is Verdict.FAILED
    assert row.findings is not None and row.findings.verdict is Verdict.FAILED
    assert row.findings.reasons == ("measured",)
    assert row.error is not None and row.error.startswith("The load command exited with code 2")
    assert "--judge-failed-load" in row.error


def test_a_failed_load_command_is_judged_anyway_when_asked() -> None:
    row = rows.with_load_command(_judged(Verdict.LEAKED, FAILED_COMMAND), judge_failed_load=True)
    assert row.verdict is Verdict.LEAKED
    assert row.error == (
        "The load command exited with code 2 (judged anyway: --judge-failed-load); "
        "its output ends: oops"
    )


def test_a_load_command_that_succeeded_changes_nothing() -> None:
    ok = ExternalLoad(command="wrk", elapsed_seconds=1.0, exit_code=0)
    row = _judged(Verdict.CLEAN, ok)
    assert rows.with_load_command(row, judge_failed_load=False) == row


def test_hidden_sessions_make_only_a_clean_or_inconclusive_row_inconclusive() -> None:
    clean = rows.with_hidden_sessions(_judged(Verdict.CLEAN), "1 session is hidden.")
    assert clean.verdict is Verdict.INCONCLUSIVE
    assert clean.findings is not None
    assert clean.findings.reasons == ("1 session is hidden.", "measured")
    leaked = _judged(Verdict.LEAKED)
    assert rows.with_hidden_sessions(leaked, "1 session is hidden.") == leaked
    assert rows.with_hidden_sessions(_judged(Verdict.CLEAN), None) == _judged(Verdict.CLEAN)


def test_rows_that_were_not_measured() -> None:
    assert rows.interrupted("a", "GET /").verdict is Verdict.INTERRUPTED
    skipped = rows.not_attempted("a", "GET /b", "GET /a")
    assert skipped.verdict is Verdict.FAILED and skipped.start_failed
    measured = rows.Unjudged("a", "GET /", None, (QUIET,), None)
    exited = rows.target_exited(measured, 1, "Traceback")
    assert exited.verdict is Verdict.FAILED
    assert exited.samples == (QUIET,)
    assert rows.unreadable_after_settle(measured).verdict is Verdict.INCONCLUSIVE
