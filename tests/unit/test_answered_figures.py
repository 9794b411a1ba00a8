"""Requests and req/s count answered requests; unanswered ones have their own figure."""

from __future__ import annotations

import io
import json
from dataclasses import replace

from leakbench._output.reports import json as report_json
from leakbench._output.style import make_console
from leakbench._output.table import REPORT_COLUMNS, report_cells
from leakbench._output.terminal import render_run
from leakbench._results import LatencySummary, LoadStats, RowResult, Verdict
from leakbench._verdict.outcome import judge
from tests.factories import run_result

# The reference report's with-session /error row: 4,805 sent, 2,552 answered.
LOAD = LoadStats(
    sent=4805,
    status_counts=((500, 2552),),
    transport_errors=0,
    timeouts=0,
    elapsed_seconds=9.2,
    latency=LatencySummary(p50=40.0, p95=90.0, p99=120.0, max=300.0, mean=50.0),
    concurrency=300,
    disconnects=2253,
)
ROW = RowResult("with-session", "/error", Verdict.CLEAN, LOAD, None)


def test_rps_counts_answered_requests_only() -> None:
    assert LOAD.rps == 2552 / 9.2
    assert LOAD.completed == 4805  # every request finished, one way or the other


def test_the_terminal_table_shows_answered_and_unanswered() -> None:
    result, buffer = run_result(ROW), io.StringIO()
    render_run(make_console(width=200, file=buffer), result, judge(result))
    text = buffer.getvalue()
    assert "Unanswered" in text
    (line,) = [line for line in text.splitlines() if "/error" in line and "2,552" in line]
    assert "2,253" in line and "4,805" not in line and f"{2552 / 9.2:,.0f}" in line


def test_the_markdown_and_html_cells_show_answered_and_unanswered() -> None:
    headers = [column.report_header for column in REPORT_COLUMNS]
    cells = dict(zip(headers, report_cells(ROW), strict=True))
    assert cells["Requests"] == "2,552"
    assert cells["Unanswered"] == "2,253"
    assert cells["req/s"] == f"{2552 / 9.2:,.0f}"


def test_the_json_row_has_answered_requests_and_unanswered_apart() -> None:
    result = run_result(ROW)
    data = json.loads(report_json.dumps(result, judge(result)))
    row = data["rows"][0]
    assert (row["requests"], row["unanswered"]) == (2552, 2253)
    assert row["rps"] == round(2552 / 9.2, 1)
    assert row["load"]["disconnects"] == 2253
    assert report_json.from_dict(data).rows[0].load == LOAD


def test_the_terminal_leaves_the_column_out_when_every_request_was_answered() -> None:
    answered = RowResult(
        "with-session", "/error", Verdict.CLEAN, replace(LOAD, disconnects=0), None
    )
    result, buffer = run_result(answered), io.StringIO()
    render_run(make_console(width=200, file=buffer), result, judge(result))
    text = buffer.getvalue()
    assert "2,552" in text
    assert "Unanswered" not in text  # nothing to show, and it says nothing is hidden either
    assert "Not shown" not in text
