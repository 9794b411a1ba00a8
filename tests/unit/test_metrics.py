"""Prometheus metrics: the exposition text, the port checks, and a scrape during a real run."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx2
import pytest
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._load.driver import LoadProgress
from leakbench._progress.prometheus import (
    CONTENT_TYPE,
    FinishedRow,
    MetricsObserver,
    MetricsView,
    render_metrics,
    serve_metrics,
)
from leakbench._progress.tracker import RowSnapshot
from leakbench._results import ActivitySample, Phase, PoolStats, RowResult, Verdict
from tests.prometheus_text import key, parse

RUNNING = RowSnapshot(
    "global-session-cache",
    "/ok",
    Phase.LOAD,
    duration=2.0,
    load_seconds=1.0,
    phase_seconds=1.0,
    phase_limit=2.0,
    completed=420,
    errors=3,
    server_errors=5,
    requests_per_second=410.5,
    sample=ActivitySample(
        1.0, Phase.LOAD, active=1, idle=2, idle_in_transaction=9, oldest_transaction_seconds=0.8
    ),
)


def test_the_exposition_names_follow_postgres_exporter() -> None:
    finished = FinishedRow("try-finally", "/ok", 1000, 0, 0, pool_checked_out=0)
    text = render_metrics(MetricsView("leakbench_ab12_0", RUNNING, (finished,)))
    values = parse(text)
    db = "leakbench_ab12_0"
    assert values[key("pg_stat_activity_count", datname=db, state="idle in transaction")] == 9
    assert values[key("pg_stat_activity_count", datname=db, state="active")] == 1
    assert values[key("pg_stat_activity_count", datname=db, state="idle")] == 2
    assert values[key("pg_stat_activity_count", datname=db, state="other")] == 0
    assert values[key("pg_stat_activity_max_tx_duration", datname=db)] == 0.8
    running = {"pattern": "global-session-cache", "endpoint": "/ok"}
    assert values[key("leakbench_requests_total", **running)] == 420
    assert values[key("leakbench_requests_total", pattern="try-finally", endpoint="/ok")] == 1000
    assert values[key("leakbench_request_errors_total", kind="transport", **running)] == 3
    assert values[key("leakbench_request_errors_total", kind="http_5xx", **running)] == 5
    assert values[key("leakbench_requests_per_second", **running)] == 410.5
    assert values[key("leakbench_phase", phase="load", **running)] == 1
    assert values[key("leakbench_pool_checked_out", pattern="try-finally", endpoint="/ok")] == 0
    assert "# TYPE pg_stat_activity_count gauge" in text
    assert "# TYPE leakbench_requests_total counter" in text


def test_between_rows_only_finished_counters_remain() -> None:
    text = render_metrics(MetricsView(None, None, ()))
    assert text == ""
    odd = FinishedRow('we"ird\\', "/x\ny", 1, 0, 0, None)
    text = render_metrics(MetricsView(None, None, (odd,)))
    assert 'pattern="we\\"ird\\\\",endpoint="/x\\ny"' in text
    assert "pg_stat_activity_count" not in text and "leakbench_pool_checked_out" not in text
    parse(text)


def test_the_observer_keeps_a_finished_rows_counters_and_pool_view() -> None:
    observer = MetricsObserver()
    observer.database_created("leakbench_cd34_1")
    observer.row_started("global-session-cache", "/ok", 2.0)
    observer.phase_changed(Phase.LOAD, 2.0)
    observer.tick(LoadProgress(sent=50, completed=40), ActivitySample(0.5, Phase.LOAD, idle=4))
    during = observer.view()
    assert during.running is not None and during.running.completed == 40
    assert during.database == "leakbench_cd34_1"
    pool = PoolStats(checkouts=52, checkins=40)
    observer.row_finished(
        RowResult("global-session-cache", "/ok", Verdict.LEAKED, None, None, pool_after_settle=pool)
    )
    after = observer.view()
    assert after.running is None
    assert after.finished == (FinishedRow("global-session-cache", "/ok", 40, 0, 0, 12),)


def test_the_server_answers_metrics_and_nothing_else() -> None:
    with serve_metrics(0) as (observer, server):
        observer.database_created("leakbench_ef56_0")
        response = httpx2.get(server.url)
        missing = httpx2.get(server.url.replace("/metrics", "/admin"))
    assert response.status_code == 200
    assert response.headers["content-type"] == CONTENT_TYPE
    assert missing.status_code == 404


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_a_port_in_use_is_a_one_line_usage_error(busy_port: int) -> None:
    result = CliRunner().invoke(app, ["run", "-p", "both", "--prometheus-port", str(busy_port)])
    assert result.exit_code == 2, result.output
    assert f"--prometheus-port {busy_port} is already in use on 127.0.0.1" in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_port_out_of_range_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["run", "-p", "both", "--prometheus-port", "70000"])
    assert result.exit_code == 2, result.output
    assert "--prometheus-port 70000 is out of range" in result.output
