"""A mix row's per-route counts: in the notes and the JSON report, and back from a saved report."""

from __future__ import annotations

import dataclasses

from leakbench._output.notes import needs_notes, row_notes
from leakbench._output.reports import json as report_json
from leakbench._output.reports import markdown
from leakbench._results import LatencySummary, LoadStats, RouteStats, RowResult, Verdict
from leakbench._verdict.outcome import judge
from tests.factories import run_result

ROUTES = (
    RouteStats(
        "GET /items/?limit=5",
        3,
        ((200, 1200), (503, 3)),
        failures=0,
        latency=LatencySummary(p50=4.0, p95=12.5, p99=30.0, max=41.0, mean=5.2),
    ),
    # A route read from a report older than per-route latency: no p95 to show.
    RouteStats("POST /items/", 1, ((200, 398), (422, 2)), failures=1),
)


def _mix_row() -> RowResult:
    load = LoadStats(
        sent=1604,
        status_counts=((200, 1598), (422, 2), (503, 3)),
        transport_errors=1,
        timeouts=0,
        elapsed_seconds=2.0,
        latency=LatencySummary(p50=1.0, p95=2.0),
        concurrency=8,
        routes=ROUTES,
    )
    return RowResult("app.main:app", "mix (2 routes)", Verdict.CLEAN, load, None)


def test_the_notes_give_each_route_its_count_and_status_classes() -> None:
    notes = row_notes(_mix_row())
    assert (
        "Routes: GET /items/?limit=5 (weight 3): 1,203 (2xx 1,200, 5xx 3, p95 12.5 ms); "
        "POST /items/ (weight 1): 401 (2xx 398, 4xx 2, failed 1)." in notes
    )


def test_the_json_report_keeps_the_routes_and_reads_them_back() -> None:
    result = run_result(
        _mix_row(),
        request_headers=("Authorization: ***",),
        login="POST /login",
        setup_commands=("alembic upgrade head",),
    )
    data = report_json.to_dict(result, judge(result))
    routes = data["rows"][0]["load"]["routes"]
    assert routes[1] == {
        "label": "POST /items/",
        "weight": 1,
        "completed": 401,
        "status_counts": {"200": 398, "422": 2},
        "status_classes": {"2xx": 398, "4xx": 2, "failed": 1},
        "failures": 1,
        "latency_ms": None,
    }
    assert routes[0]["latency_ms"] == {"p50": 4.0, "p95": 12.5, "p99": 30.0, "max": 41.0,
                                       "mean": 5.2}  # fmt: skip
    assert report_json.from_dict(data) == result


def test_the_markdown_report_lists_the_set_up_login_and_header_names() -> None:
    result = run_result(
        _mix_row(),
        request_headers=("Authorization: ***",),
        login="POST /login",
        setup_commands=("alembic upgrade head", "python -m app.initial_data"),
    )
    text = markdown.render(result, judge(result))
    assert "alembic upgrade head; python -m app.initial\\_data" in text
    assert "POST /login" in text and "Authorization: \\*\\*\\*" in text


def test_a_clean_mix_needs_notes_only_when_a_route_had_trouble() -> None:
    assert needs_notes(_mix_row())  # 5xx, 4xx and a failure among the routes
    calm = RouteStats("GET /items/", 1, ((200, 10),))
    row = _mix_row()
    assert row.load is not None
    quiet = dataclasses.replace(row, load=dataclasses.replace(row.load, routes=(calm,)))
    assert not needs_notes(quiet)
