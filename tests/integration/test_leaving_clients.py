"""Clients that leave (--abort, --stream-read, --hold) against a real uvicorn target.

The target (tests/integration/load_target_app.py) counts the requests whose
client it saw leave (ASGI's http.disconnect): leaving is a real disconnect,
and the driver counts it apart, neither an answer nor an error.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from leakbench._load.driver import LoadPlan, LoadProgress, run_load
from leakbench._results import LoadStats
from leakbench._settings import Endpoint, Target
from leakbench._settings.clients import AbortSpec, ClientBehaviour, StreamLimit, WebSocketSpec
from leakbench._targets.process import TargetProcess

pytestmark = pytest.mark.quick  # a real server, a second or so per test


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetProcess]:
    app = Target("load-target", "load_target_app:app", kind="app", app_dir=Path(__file__).parent)
    with TargetProcess(app, dict(os.environ), tmp_path_factory.mktemp("leaving")) as process:
        yield process


def load(
    target: TargetProcess,
    path: str,
    client: ClientBehaviour,
    *,
    concurrency: int = 10,
    requests: int = 20,
    progress: LoadProgress | None = None,
    method: str = "GET",
    websocket: WebSocketSpec | None = None,
) -> LoadStats:
    plan = LoadPlan(
        base_url=target.base_url,
        endpoint=Endpoint(method, path),
        websocket=websocket or WebSocketSpec(),
        concurrency=concurrency,
        duration=20.0,
        requests=requests,
        request_timeout=5.0,
        client=client,
    )
    return run_load(plan, progress)


def seen_leaving(target: TargetProcess) -> int:
    return int(httpx2.get(f"{target.base_url}/left/read", trust_env=False).text)


def wait_for_leaving(target: TargetProcess, count: int) -> int:
    # The app counts a disconnect when it next looks: within one event's pause.
    for _ in range(50):
        seen = seen_leaving(target)
        if seen >= count:
            return seen
        httpx2.get(f"{target.base_url}/status/200", trust_env=False)
    return seen_leaving(target)


def test_aborted_requests_are_real_disconnects_counted_apart(target: TargetProcess) -> None:
    before = seen_leaving(target)
    stats = load(target, "/wait", ClientBehaviour(abort=AbortSpec.parse("100%@50ms")))

    assert (stats.aborted, stats.streams_left, stats.responses, stats.errors) == (20, 0, 0, 0)
    assert stats.completed == 20
    assert stats.latency.max == 0  # no answer, no latency
    assert wait_for_leaving(target, before + 20) - before == 20


def test_a_stream_read_part_way_is_left_and_the_server_sees_it(target: TargetProcess) -> None:
    before = seen_leaving(target)
    stats = load(target, "/events", ClientBehaviour(stream_read=StreamLimit.parse("30")))

    assert (stats.streams_left, stats.aborted, stats.responses, stats.errors) == (20, 0, 0, 0)
    assert wait_for_leaving(target, before + 20) - before == 20


def test_held_streams_are_open_together_then_left(target: TargetProcess) -> None:
    progress = LoadProgress()
    stats = load(
        target,
        "/events",
        ClientBehaviour(hold=0.5),
        concurrency=50,
        requests=50,
        progress=progress,
    )

    assert stats.streams_left == 50
    assert stats.peak_open_streams == 50
    assert stats.errors == 0
    assert progress.streams_open == 0  # every stream was closed at the end


def test_streams_are_read_to_their_end_by_default(target: TargetProcess) -> None:
    stats = load(target, "/events?n=10", ClientBehaviour(), concurrency=5, requests=5)

    assert stats.status_counts == ((200, 5),)
    assert (stats.left, stats.errors) == (0, 0)
    assert stats.latency.p50 >= 1000 * 0.02 * 10 * 0.9  # the whole stream, 10 events


def test_aborts_within_the_observed_latency_leave_some_and_answer_the_rest(
    target: TargetProcess,
) -> None:
    stats = load(target, "/events?n=10", ClientBehaviour(abort=AbortSpec.parse("50%")), requests=60)

    assert stats.left > 0
    assert stats.responses > 0
    assert stats.errors == 0
    assert stats.left + stats.responses == 60


def ws_ends(target: TargetProcess) -> dict[str, int]:
    ends: dict[str, int] = httpx2.get(f"{target.base_url}/ws/read", trust_env=False).json()
    return ends


def test_websocket_sessions_close_cleanly_or_drop_as_asked(target: TargetProcess) -> None:
    before = ws_ends(target)
    closed = load(target, "/ws", ClientBehaviour(), method="WS", websocket=WebSocketSpec(receive=3))
    dropped = load(
        target,
        "/ws",
        ClientBehaviour(),
        method="WS",
        websocket=WebSocketSpec(receive=1, drop=True),
    )

    assert closed.status_counts == ((101, 20),) and closed.errors == 0
    assert (dropped.streams_left, dropped.responses, dropped.errors) == (20, 0, 0)
    for _ in range(50):  # the app sees a drop when it next reads: within moments
        after = {code: count - before.get(code, 0) for code, count in ws_ends(target).items()}
        if sum(after.values()) >= 40:
            break
        time.sleep(0.02)
    # The app saw a close frame (1000) from each clean session, and none from each drop:
    # 1005 (no status received; uvicorn's websockets protocol) or 1006, by server.
    assert after.get("1000") == 20, after
    assert after.get("1005", 0) + after.get("1006", 0) == 20, after
