"""The run as printed at 80, 100 and 120 columns: every verdict and key count visible, no line
wider than the terminal, notes only under the rows that need them, the pool each target had."""

from __future__ import annotations

import io

import pytest

from leakbench._output.style import make_console
from leakbench._output.terminal import render_run
from leakbench._progress.live import finished_line
from leakbench._results import Capacity, RowResult, RunResult, Verdict
from leakbench._verdict.outcome import judge
from tests.factories import failed_row, row, run_result

LEAK_REASON = "12 connection(s) are still idle in transaction after the settle: a leak."
DOUBT_REASON = "Every request got a 4xx answer, so the route's database code never ran."


def _mixed_run() -> RunResult:
    return run_result(
        row("with-session", "/ok", completed=5_655, peak=9),
        row("with-session", "/error", completed=4_805, peak=4),
        row(
            "global-session-cache",
            "/ok",
            Verdict.LEAKED,
            completed=3_121,
            peak=12,
            after=12,
            total=13,
            reasons=(LEAK_REASON,),
        ),
        row(
            "shop/main.py:app",
            "GET /orders",
            Verdict.INCONCLUSIVE,
            completed=812,
            peak=0,
            reasons=(DOUBT_REASON,),
        ),
        failed_row("broken", "/ok"),
    )


def _printed(result: RunResult, width: int) -> str:
    buffer = io.StringIO()
    render_run(make_console(width=width, file=buffer), result, judge(result))
    return buffer.getvalue()


def _unboxed(text: str) -> list[str]:
    """The lines without the table's box (drawn at the wider widths)."""
    return [" ".join(line.replace("│", " ").split()) for line in text.splitlines()]


def _table_line(text: str, result_row: RowResult) -> str:
    """The table's line of a row: it starts with the target and the endpoint, as given."""
    prefix = result_row.target
    lines = [
        line
        for line in _unboxed(text)
        if line.startswith(prefix) and result_row.endpoint in line.removeprefix(prefix)[:20]
    ]
    assert lines, f"no table line for {result_row.target} {result_row.endpoint}:\n{text}"
    return lines[0]


@pytest.mark.parametrize("width", [80, 100, 120])
def test_every_verdict_and_key_count_fits_the_terminal(width: int) -> None:
    result = _mixed_run()
    text = _printed(result, width)
    for line in text.splitlines():
        assert len(line) <= width, f"{len(line)} columns: {line!r}"
    assert "…" not in text  # nothing cropped: not a name, not a figure
    for result_row in result.rows:
        line = _table_line(text, result_row)
        cells = line.split()
        assert cells[-1] == result_row.verdict.value
        if result_row.load is not None:
            assert f"{result_row.load.completed:,}" in cells
        if result_row.findings is not None:
            findings = result_row.findings
            # Idle in transaction and all connections after the settle, then the verdict.
            assert cells[-3:-1] == [
                str(findings.after_settle.in_transaction),
                str(findings.after_settle.total),
            ]
            assert str(findings.peak_idle_in_transaction) in cells[2:-3]


def test_narrow_terminals_drop_the_columns_that_matter_least_and_say_so() -> None:
    result = _mixed_run()
    wide, narrow = _printed(result, 120), _printed(result, 80)
    assert "req/s" in wide and "p95 ms" in wide
    assert "req/s" not in narrow.split("Not shown")[0]
    assert "Not shown at this width:" in narrow
    assert "req/s" in narrow.split("Not shown")[1]


def test_the_pr_rows_show_every_column_at_120() -> None:
    result = run_result(
        row("with-session", "/ok"),
        row("with-session", "/error"),
        row("try-finally", "/ok"),
        row("try-finally", "/error"),
    )
    text = _printed(result, 120)
    assert "over time" in text
    assert "Not shown" not in text
    assert "▁▁▅██▅▁▁▁" in text  # up while requests were in flight, back down


def test_notes_only_under_the_rows_that_need_them() -> None:
    text = _printed(_mixed_run(), 100)
    assert "global-session-cache /ok LEAKED" in text
    assert LEAK_REASON.split(":", maxsplit=1)[0] in text
    assert "shop/main.py:app GET /orders INCONCLUSIVE" in text
    assert "broken /ok FAILED" in text
    assert "with-session /ok CLEAN" not in text
    assert "with-session /error CLEAN" not in text
    # The vantage notes of the leak are there; those of the clean rows stay in the reports.
    assert text.count("After the settle, PostgreSQL still sees") == 2


def test_a_clean_row_short_of_capacity_gets_its_notes() -> None:
    waits = Capacity(workers=1, per_worker=12, max_connections=100, pool_timeouts=7)
    result = run_result(
        row("pool-exhaustion", "/ok", reasons=("Capacity finding, not a leak.",), capacity=waits)
    )
    assert "pool-exhaustion /ok CLEAN" in _printed(result, 80)


def test_the_footer_shows_the_pool_the_probe_read_from_an_app() -> None:
    own_pool = run_result(row("shop/main.py:app", "/orders", pool_capacity=15))
    text = _printed(own_pool, 200)  # wide: the footer on one line
    assert "pool 15 per worker (pool_size + max_overflow, read from the app)" in text
    assert "pool_size=2" not in text
    # A scenario's sync and async engines together hold 24, but each is leakbench's 2 + 10.
    scenario = _printed(
        run_result(row("with-session", "/ok", pool_capacity=24, per_worker=12)), 200
    )
    assert (
        "workers=1 concurrency=10 driver_processes=1 settle≤1s · pool_size=2 max_overflow=10 · "
        in scenario
    )
    mixed = _printed(
        run_result(row("with-session", "/ok"), row("shop/main.py:app", "/x", pool_capacity=15)),
        200,
    )
    assert (
        "pool_size=2 max_overflow=10, but read from the app, per worker: shop/main.py:app 15"
        in (mixed)
    )


def test_a_name_too_long_for_the_terminal_folds_instead_of_being_cut() -> None:
    name = "shared-connection-transaction"
    result = run_result(
        row(name, "/error", Verdict.INCONCLUSIVE, reasons=(DOUBT_REASON,)),
        row("with-session", "/ok"),
    )
    text = _printed(result, 80)
    assert all(len(line) <= 80 for line in text.splitlines())
    assert "…" not in text
    table = text.split("Not shown")[0]
    first_column = "".join(line.split()[0] for line in _unboxed(table)[6:] if line.strip())
    assert first_column.startswith(name + "with-session")
    assert "INCONCLUSIVE" in table and "CLEAN" in table


def test_a_finished_rows_line_stays_on_one_line_at_80_columns() -> None:
    finished = row("shared-connection-transaction", "/error", completed=12_345, peak=11)
    full = finished_line(finished)
    assert full.cell_len > 80
    short = finished_line(finished, 80)
    assert short.cell_len <= 80
    assert (
        short.plain == "shared-connection-transaction /error  12,345 req  idle in txn 11 → 0  CLEAN"
    )
    assert finished_line(finished, 140).plain == full.plain
