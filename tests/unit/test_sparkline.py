"""The idle-in-transaction sparkline: a pure function, and its column in the final table."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from leakbench._output.sparkline import BLOCKS, sparkline
from leakbench._output.terminal import results_table
from leakbench._results import ActivitySample, Phase, RowResult, RunResult
from leakbench._verdict.analysis import Observation, judge
from tests.factories import run_result


def test_each_level_has_its_block() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"


def test_empty_and_all_zero_series() -> None:
    assert sparkline([]) == ""
    assert sparkline([0, 0, 0]) == "▁▁▁"


def test_one_connection_among_many_is_still_visible() -> None:
    assert sparkline([0, 1, 100]) == "▁▂█"


def test_a_short_peak_survives_downsampling() -> None:
    values = [0] * 100
    values[57] = 3
    line = sparkline(values, width=10)
    assert line == "▁▁▁▁▁█▁▁▁▁"


def test_a_leak_that_stays_reads_as_a_plateau() -> None:
    values = [0, 0] + [12] * 30
    assert sparkline(values, width=8) == "████████"
    assert sparkline(values, width=16)[0] == "▁"


def test_width_must_be_positive() -> None:
    with pytest.raises(ValueError, match="width of 1 or more, not 0"):
        sparkline([1, 2], width=0)


@given(st.lists(st.integers(min_value=0, max_value=500), max_size=300), st.integers(1, 40))
def test_shape_of_any_series(values: list[int], width: int) -> None:
    line = sparkline(values, width=width)
    assert len(line) == min(len(values), width)
    assert set(line) <= set(BLOCKS)
    if any(values):
        assert "█" in line
        assert line.count("▁") <= values.count(0)
    else:
        assert set(line) <= {"▁"}


def _row(pattern: str, in_transaction: list[int]) -> RowResult:
    samples = tuple(
        ActivitySample(t=i / 10, phase=Phase.LOAD, idle_in_transaction=n, idle=1)
        for i, n in enumerate(in_transaction)
    )
    findings = judge(
        Observation(
            baseline=ActivitySample(t=0, phase=Phase.BASELINE, idle=1),
            during=samples,
            after_settle=samples[-1],
            settled=True,
            settle_seconds=1.0,
            completed_requests=100,
        ),
        capacity=12,
    )
    return RowResult(pattern, "/ok", findings.verdict, None, findings, samples)


def _run(*rows: RowResult) -> RunResult:
    return run_result(*rows, database="test")


@pytest.mark.parametrize("width", [100, 160])
def test_the_table_shows_each_rows_sparkline_uncut(width: int) -> None:
    result = _run(_row("calm", [0, 4, 9, 2, 0, 0]), _row("leak", [0, 6, 12, 12, 12, 12]))
    console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=True)
    console.print(results_table(result))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    transient = next(line for line in text.splitlines() if line.startswith("│ calm"))
    leaky = next(line for line in text.splitlines() if line.startswith("│ leak"))
    assert "▁▅█▃▁▁" in transient
    assert "▁▅████" in leaky
    assert "over time" in text
