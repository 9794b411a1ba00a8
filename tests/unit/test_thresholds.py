"""Thresholds: parsing and validating their values, judging rows, and the exit code.

Pure: hypothesis over values and hand-made results, and usage errors of the CLI;
real runs judged by thresholds are in tests/integration/test_threshold_runs.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._results import (
    ActivitySample,
    Findings,
    LatencySummary,
    LoadStats,
    Phase,
    RowResult,
    RunResult,
    Verdict,
)
from leakbench._verdict.thresholds import ThresholdName, Thresholds, evaluate, exit_code, parse_rate
from leakbench.errors import (
    EXIT_CLEAN,
    EXIT_INCONCLUSIVE,
    EXIT_LEAKED,
    EXIT_RUN_FAILED,
    UsageError,
)
from tests.factories import run_result

runner = CliRunner()

# -- parsing and validating values ------------------------------------------------------


@given(st.floats(min_value=0, max_value=1))
def test_a_fraction_reads_back_exactly(rate: float) -> None:
    assert parse_rate(repr(rate)) == rate
    assert parse_rate(f"  {rate!r} ") == rate


@given(st.integers(min_value=0, max_value=100))
def test_a_percentage_is_a_hundredth(percent: int) -> None:
    assert parse_rate(f"{percent}%") == pytest.approx(percent / 100)
    assert parse_rate(f"{percent} %") == pytest.approx(percent / 100)


@given(st.floats().filter(lambda x: not 0 <= x <= 1))
def test_a_rate_outside_0_to_1_is_refused_by_name(rate: float) -> None:
    with pytest.raises(UsageError, match=r"--max-error-rate .* is out of range; give 0 to 1"):
        parse_rate(repr(rate))


@given(st.text(max_size=20))
def test_any_text_is_a_rate_in_range_or_a_usage_error(text: str) -> None:
    try:
        rate = parse_rate(text)
    except UsageError as exc:
        assert "--max-error-rate" in str(exc)
        assert repr(text) in str(exc)
    else:
        assert 0 <= rate <= 1


@given(st.integers(min_value=-1000, max_value=1000))
def test_max_total_connections_needs_at_least_one(limit: int) -> None:
    if limit >= 1:
        assert Thresholds(max_total_connections=limit).max_total_connections == limit
    else:
        with pytest.raises(UsageError, match=f"--max-total-connections {limit} is invalid"):
            Thresholds(max_total_connections=limit)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_max_p95_ms_needs_a_positive_finite_number(limit: float) -> None:
    if math.isfinite(limit) and limit > 0:
        assert Thresholds(max_p95_ms=limit).max_p95_ms == limit
    else:
        with pytest.raises(UsageError, match=r"--max-p95-ms .* is invalid"):
            Thresholds(max_p95_ms=limit)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_max_error_rate_needs_0_to_1(rate: float) -> None:
    if 0 <= rate <= 1:
        assert Thresholds(max_error_rate=rate).max_error_rate == rate
    else:
        with pytest.raises(UsageError, match=r"--max-error-rate .* is out of range"):
            Thresholds(max_error_rate=rate)


# -- judging rows (hand-made results) ---------------------------------------------------


def _row(
    verdict: Verdict = Verdict.CLEAN,
    *,
    p95: float = 10.0,
    peak_total: int = 3,
    errors: int = 0,
    responses: int = 100,
) -> RowResult:
    final = ActivitySample(t=2.0, phase=Phase.FINAL, idle=1)
    findings = Findings(
        verdict=verdict,
        reasons=("3 connection(s) were still idle in transaction.",)
        if verdict is Verdict.LEAKED
        else (),
        baseline=ActivitySample(t=0.0, phase=Phase.BASELINE, idle=1),
        after_settle=final,
        peak_idle_in_transaction=0,
        peak_active=0,
        peak_total_connections=peak_total,
        peak_oldest_transaction_seconds=None,
        settled=True,
        settle_seconds=1.0,
        leaked_connections=3 if verdict is Verdict.LEAKED else 0,
    )
    load = LoadStats(
        sent=responses + errors,
        status_counts=((200, responses),),
        transport_errors=errors,
        timeouts=0,
        elapsed_seconds=1.0,
        latency=LatencySummary(p50=p95 / 2, p95=p95, p99=p95, max=p95, mean=p95 / 2),
        concurrency=10,
    )
    return RowResult("app", "/orders", verdict, load, findings)


def _result(*rows: RowResult) -> RunResult:
    return run_result(*rows, database="db", request_timeout_seconds=5.0, settle_seconds=5.0)


@given(
    st.floats(min_value=0.01, max_value=1e5),
    st.floats(min_value=0.01, max_value=1e5),
)
def test_a_row_fails_max_p95_ms_exactly_when_its_p95_is_above(p95: float, limit: float) -> None:
    failures = evaluate(_result(_row(p95=p95)), Thresholds(max_p95_ms=limit))
    assert [f.threshold for f in failures] == ([ThresholdName.MAX_P95_MS] if p95 > limit else [])


@given(
    st.integers(min_value=0, max_value=200),
    st.integers(min_value=1, max_value=200),
    st.floats(min_value=0, max_value=1),
)
def test_a_row_fails_max_error_rate_exactly_when_its_rate_is_above(
    errors: int, responses: int, limit: float
) -> None:
    failures = evaluate(
        _result(_row(errors=errors, responses=responses)), Thresholds(max_error_rate=limit)
    )
    rate = errors / (errors + responses)
    assert bool(failures) is (rate > limit)


@given(st.integers(min_value=1, max_value=500), st.integers(min_value=1, max_value=500))
def test_raising_a_limit_never_adds_a_failure(peak: int, limit: int) -> None:
    result = _result(_row(peak_total=peak))
    stricter = evaluate(result, Thresholds(max_total_connections=limit))
    looser = evaluate(result, Thresholds(max_total_connections=limit + 1))
    assert {f.row for f in looser} <= {f.row for f in stricter}
    assert bool(stricter) is (peak > limit)


def test_a_leak_fails_unless_fail_on_leak_is_off() -> None:
    result = _result(_row(), _row(Verdict.LEAKED))
    failures = evaluate(result, Thresholds())
    assert [f.threshold for f in failures] == [ThresholdName.FAIL_ON_LEAK]
    assert failures[0].message == (
        "app /orders is LEAKED: 3 connection(s) were still idle in transaction."
    )
    assert exit_code(result, failures) == EXIT_LEAKED
    relaxed = evaluate(result, Thresholds(fail_on_leak=False))
    assert relaxed == ()
    assert exit_code(result, relaxed) == EXIT_CLEAN


def test_without_a_failure_the_rows_decide_the_exit_code() -> None:
    failed = RowResult("app", "/x", Verdict.FAILED, None, None, error="did not start")
    inconclusive = _row(Verdict.INCONCLUSIVE)
    assert exit_code(_result(_row()), ()) == EXIT_CLEAN
    assert exit_code(_result(_row(), inconclusive), ()) == EXIT_INCONCLUSIVE
    assert exit_code(_result(inconclusive, failed), ()) == EXIT_RUN_FAILED
    assert exit_code(_result(), ()) == EXIT_INCONCLUSIVE
    # A leak that --no-fail-on-leak lets pass does not hide a FAILED row.
    assert exit_code(_result(_row(Verdict.LEAKED), failed), ()) == EXIT_RUN_FAILED
    # Thresholds are not checked on a row that has no figures.
    assert evaluate(_result(failed), Thresholds(max_p95_ms=1, max_total_connections=1)) == ()


# -- through the CLI --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--max-error-rate", "2"], "--max-error-rate '2' is out of range; give 0 to 1"),
        (["--max-error-rate", "lots"], "--max-error-rate 'lots' is not a number"),
        (["--max-p95-ms", "0"], "--max-p95-ms 0 is invalid; give a positive number"),
        (["--max-total-connections", "0"], "--max-total-connections 0 is invalid; give 1"),
    ],
)
def test_a_bad_threshold_is_a_usage_error_before_the_run(
    args: list[str], expected: str, tmp_path: Path
) -> None:
    result = runner.invoke(app, ["run", *args, "--report-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "database:" not in result.output
    assert list(tmp_path.iterdir()) == []
