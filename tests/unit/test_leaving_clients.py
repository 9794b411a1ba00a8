"""Clients that leave: --abort, --stream-read and --hold parsed, drawn, counted and shown."""

from __future__ import annotations

import io
import json
import random
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._load.http11 import ResponseReader
from leakbench._load.leaving import RouteLeaving, leaving_for
from leakbench._output.notes import row_notes
from leakbench._output.reports import json as report_json
from leakbench._output.style import make_console
from leakbench._output.terminal import render_run
from leakbench._results import LatencySummary, LoadStats, RowResult, Verdict
from leakbench._settings import LoadSettings
from leakbench._settings.clients import AbortSpec, ClientBehaviour, StreamLimit, WebSocketSpec
from leakbench._settings.mix import route_from_table
from leakbench._verdict.outcome import judge
from leakbench.errors import UsageError
from tests.factories import run_result

runner = CliRunner()


@pytest.mark.parametrize(
    ("text", "rate", "low", "high"),
    [
        ("20%", 0.2, None, None),
        ("50%@30ms", 0.5, 0.03, 0.03),
        ("10%@0-200ms", 0.1, 0.0, 0.2),
        ("100%@0.5s", 1.0, 0.5, 0.5),
        ("5%@100ms-1s", 0.05, 0.1, 1.0),
    ],
)
def test_abort_specs_parse(text: str, rate: float, low: float | None, high: float | None) -> None:
    spec = AbortSpec.parse(text)
    assert (spec.rate, spec.low, spec.high) == (rate, low, high)
    assert AbortSpec.parse(spec.label) == spec


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("20", "write RATE[@WHEN]"),
        ("0%", "above 0% and at most 100%"),
        ("150%", "above 0% and at most 100%"),
        ("20%@30", "give it with its unit"),
        ("20%@200-100ms", "start is after its end"),
    ],
)
def test_bad_abort_specs_say_what_to_write(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("]", r"\]")):
        AbortSpec.parse(text)


def test_stream_limits_are_bytes_or_a_duration() -> None:
    assert StreamLimit.parse("4096") == StreamLimit(max_bytes=4096)
    assert StreamLimit.parse("64KB") == StreamLimit(max_bytes=65536)
    assert StreamLimit.parse("2s") == StreamLimit(seconds=2.0)
    assert StreamLimit.parse("500ms") == StreamLimit(seconds=0.5)
    with pytest.raises(UsageError, match="give bytes"):
        StreamLimit.parse("lots")


def test_a_hold_must_end_before_the_request_times_out() -> None:
    with pytest.raises(UsageError, match="--hold 10s is not below --request-timeout 10"):
        LoadSettings(request_timeout=10.0, client=ClientBehaviour(hold=10.0))
    with pytest.raises(UsageError, match="give one of them"):
        ClientBehaviour(stream_read=StreamLimit(max_bytes=1), hold=1.0)


def test_a_route_overrides_the_row_key_by_key() -> None:
    row = ClientBehaviour(abort=AbortSpec.parse("20%"), hold=5.0)
    route = ClientBehaviour(stream_read=StreamLimit(max_bytes=10))
    assert route.over(row) == ClientBehaviour(
        abort=AbortSpec.parse("20%"), stream_read=StreamLimit(max_bytes=10)
    )
    table = route_from_table({"path": "/feed", "abort": "50%@30ms", "stream-read": 4096})
    assert table.client == ClientBehaviour(
        abort=AbortSpec.parse("50%@30ms"), stream_read=StreamLimit(max_bytes=4096)
    )


def test_perfect_clients_draw_nothing() -> None:
    assert leaving_for(ClientBehaviour(), (None, None)) is None


def test_aborts_wait_for_an_observed_latency_then_land_within_it() -> None:
    rng = random.Random(1)  # noqa: S311 - a reproducible draw, not a secret
    leaving = RouteLeaving(ClientBehaviour(abort=AbortSpec.parse("100%")), rng, 2.0)
    first = leaving.draw()  # nothing known of the route's latency yet: within timeout / 4
    assert first is not None and first.abort_after is not None and first.abort_after <= 0.5
    leaving.answered(0.2)
    draws = [leaving.draw() for _ in range(200)]
    whens = [d.abort_after for d in draws if d is not None and d.abort_after is not None]
    assert len(whens) == 200
    assert all(0 <= when <= 0.2 for when in whens)
    assert min(whens) < 0.05 and max(whens) > 0.15  # every phase of the request


def test_a_share_of_requests_is_abandoned() -> None:
    rng = random.Random(2)  # noqa: S311 - a reproducible draw, not a secret
    leaving = RouteLeaving(ClientBehaviour(abort=AbortSpec.parse("20%@0-10ms")), rng)
    draws = [leaving.draw() for _ in range(5000)]
    share = sum(d is not None for d in draws) / len(draws)
    assert 0.18 < share < 0.22


def test_a_stream_is_counted_not_kept_when_the_client_may_leave_it() -> None:
    reader = ResponseReader()
    reader.expect(discard_body=True)
    head = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    assert reader.feed(head) is None
    assert reader.streaming
    assert reader.feed(b"9\r\ndata: 1\n\n\r\n") is None
    assert reader.body_bytes == 9
    response = reader.feed(b"0\r\n\r\n")
    assert response is not None and response.body == b""
    assert not reader.streaming


def _row(**counts: int) -> RowResult:
    load = LoadStats(
        sent=100,
        status_counts=((200, 50),),
        transport_errors=0,
        timeouts=0,
        elapsed_seconds=1.0,
        latency=LatencySummary(p50=10.0, p95=20.0, p99=30.0, max=40.0, mean=12.0),
        concurrency=10,
        **counts,
    )
    return RowResult("stream-closed-midway", "GET /stream", Verdict.CLEAN, load, None)


def test_left_requests_are_a_column_a_json_field_and_a_note_never_errors() -> None:
    row = replace(_row(aborted=30, streams_left=20), handlers_after_load=3)
    assert row.load is not None
    assert (row.load.left, row.load.errors, row.load.completed) == (50, 0, 100)
    result, buffer = run_result(row), io.StringIO()
    render_run(make_console(width=200, file=buffer), result, judge(result))
    text = buffer.getvalue()
    assert "Left" in text
    data = json.loads(report_json.dumps(result, judge(result)))
    assert (data["rows"][0]["left"], data["rows"][0]["errors"]) == (50, 0)
    assert data["rows"][0]["handlers_after_load"] == 3
    assert report_json.from_dict(data).rows[0] == row
    (note,) = [n for n in row_notes(row) if n.startswith("Clients left early")]
    assert "30 request(s) abandoned before the answer and 20 stream(s) left part way" in note
    assert "3 handler(s) were still running" in note


def test_the_terminal_leaves_the_column_out_when_no_client_left() -> None:
    result, buffer = run_result(_row()), io.StringIO()
    render_run(make_console(width=200, file=buffer), result, judge(result))
    assert "Left" not in buffer.getvalue()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--abort", "lots"], "--abort 'lots' is malformed; write RATE[@WHEN]"),
        (["--stream-read", "2 hours"], "--stream-read '2 hours' is malformed"),
        (["--hold", "20"], "--hold 20s is not below --request-timeout 10"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(args: list[str], expected: str) -> None:
    result = runner.invoke(app, ["run", "--no-live", *args])
    assert result.exit_code == 2, result.output
    assert expected in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_the_keys_are_settings_of_the_project_and_of_a_mix_route(tmp_path: Path) -> None:
    # The tests run in tmp_path (tests/fix_server.py): the file there is the project's.
    (tmp_path / "leakbench.toml").write_text("abort = 'nope'\n")
    result = runner.invoke(app, ["run", "--no-live", "-p", "with-session"])
    assert result.exit_code == 2 and "--abort 'nope' is malformed" in result.output
    (tmp_path / "leakbench.toml").write_text(
        "abort = '20%'\n[[mix]]\npath = '/feed'\nabort = 'half'\n"
    )
    result = runner.invoke(app, ["run", "--no-live", "-p", "with-session"])
    output = " ".join(result.output.split())
    assert result.exit_code == 2 and "mix GET /feed: abort 'half' is malformed" in output


def test_websocket_routes_and_their_sessions_parse() -> None:
    from leakbench._settings import Endpoint  # noqa: PLC0415 - next to its only use

    assert Endpoint.parse("WS /ws") == Endpoint("WS", "/ws")
    route = route_from_table({"method": "WS", "path": "/ws", "ws-receive": 3, "ws-drop": True})
    assert route.websocket == WebSocketSpec(message="ping", receive=3, drop=True)
    with pytest.raises(UsageError, match="--ws-receive -1 is out of range"):
        WebSocketSpec(receive=-1)
    with pytest.raises(UsageError, match="mix: ws-drop: input should be a valid boolean"):
        route_from_table({"method": "WS", "path": "/ws", "ws-drop": "yes"})
