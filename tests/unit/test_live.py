"""The live view: snapshots from callbacks, rendered to a deterministic console, and a real run."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

from leakbench._load.driver import LoadProgress
from leakbench._progress.events import LoadSnapshot
from leakbench._progress.group import ObserverGroup, open_observer
from leakbench._progress.live import LiveObserver, live_view
from leakbench._progress.tracker import RowSnapshot, RowTracker
from leakbench._results import ActivitySample, Phase, RowResult, Verdict

_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


class FakeClock:
    """Time that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def terminal(width: int = 120) -> Console:
    return Console(
        file=io.StringIO(), force_terminal=True, width=width, color_system=None, highlight=False
    )


def text_of(console: Console) -> str:
    return _CONTROL.sub("", console.file.getvalue())  # type: ignore[attr-defined]


def rendered(snapshot: RowSnapshot) -> str:
    console = terminal()
    console.print(live_view(snapshot))
    return text_of(console)


def progress(completed: int, *, errors: int = 0, server_errors: int = 0) -> LoadProgress:
    return LoadProgress(
        sent=completed,
        completed=completed,
        answered=completed - errors,
        transport_errors=errors,
        server_errors=server_errors,
    )


def test_tracker_times_the_load_and_measures_a_recent_rate() -> None:
    clock = FakeClock()
    tracker = RowTracker(clock)
    assert tracker.snapshot() is None
    tracker.start("with-session", "/ok", 8.0)
    tracker.change_phase(Phase.LOAD, 8.0)
    for second in range(4):
        clock.now += 1.0
        tracker.record(LoadSnapshot.of(progress(300 * (second + 1))), None)
    snap = tracker.snapshot()
    assert snap is not None
    assert snap.load_seconds == 4.0 and snap.load_remaining == 4.0
    assert snap.completed == 1200
    assert snap.requests_per_second == 300.0

    clock.now += 0.5
    tracker.change_phase(Phase.SETTLE, 5.0)
    clock.now += 2.0
    settle = tracker.snapshot()
    assert settle is not None
    assert settle.load_seconds == 4.5  # frozen when the load ended
    assert settle.phase_remaining == 3.0
    assert settle.requests_per_second == 0.0
    tracker.finish()
    assert tracker.snapshot() is None


def test_the_pool_is_shown_during_the_load_only() -> None:
    clock = FakeClock()
    tracker = RowTracker(clock)
    tracker.start("global-session-cache", "/ok", 4.0)
    tracker.record_pool(3)  # before the load: not taken
    assert tracker.snapshot().pool_checked_out is None  # type: ignore[union-attr]
    tracker.change_phase(Phase.LOAD, 4.0)
    tracker.record(
        LoadSnapshot.of(progress(10)), ActivitySample(0.5, Phase.LOAD, idle_in_transaction=12)
    )
    tracker.record_pool(12)
    load = tracker.snapshot()
    assert load is not None and load.pool_checked_out == 12
    assert "idle in transaction  12    total 12   pool checked out 12" in rendered(load)
    tracker.change_phase(Phase.SETTLE, 5.0)
    tracker.record_pool(12)  # a read that raced the end of the load
    settle = tracker.snapshot()
    assert settle is not None and settle.pool_checked_out is None
    assert "pool checked out" not in rendered(settle)
    tracker.start("try-finally", "/ok", 4.0)
    assert tracker.snapshot().pool_checked_out is None  # type: ignore[union-attr]


def test_load_phase_shows_time_counts_and_connections_by_state() -> None:
    sample = ActivitySample(
        t=1.5,
        phase=Phase.LOAD,
        active=3,
        idle=2,
        idle_in_transaction=5,
        idle_in_transaction_aborted=1,
        oldest_transaction_seconds=0.31,
    )
    snap = RowSnapshot(
        "with-session",
        "/ok",
        Phase.LOAD,
        duration=4.0,
        load_seconds=1.5,
        phase_seconds=1.5,
        phase_limit=4.0,
        sent=1300,
        completed=1234,
        answered=1232,
        errors=2,
        server_errors=7,
        requests_per_second=812.4,
        sample=sample,
    )
    text = rendered(snap)
    assert "with-session /ok load" in text
    assert "1.5 s of 4 s, 2.5 s left" in text
    assert "requests 1,232   req/s 812   errors 2   5xx 7" in text  # answered ones
    assert "active 3   idle 2   idle in transaction  6 (1 aborted)   total 11" in text
    assert "oldest transaction 0.3 s" in text


def test_settle_phase_counts_down() -> None:
    snap = RowSnapshot(
        "try-finally",
        "/error",
        Phase.SETTLE,
        duration=4.0,
        load_seconds=4.0,
        phase_seconds=1.25,
        phase_limit=5.0,
        completed=900,
        sample=ActivitySample(0, Phase.SETTLE),
    )
    text = rendered(snap)
    assert "try-finally /error settle" in text
    assert "1.2 s, at most 3.8 s left" in text
    assert "idle in transaction  0" in text


def test_before_the_first_sample_says_so() -> None:
    snap = RowSnapshot("a", "/x", Phase.LOAD, None, 0.2, 0.2, None)
    text = rendered(snap)
    assert "0.2 s elapsed" in text
    assert "connections not sampled yet" in text


def test_a_finished_row_leaves_its_line() -> None:
    console = terminal()
    observer = LiveObserver(console, RowTracker(FakeClock()))
    observer.row_started("global-session-cache", "/ok", 2.0)
    observer.phase_changed(Phase.LOAD, 2.0)
    observer.tick(progress(40), ActivitySample(0.1, Phase.LOAD, idle_in_transaction=12))
    observer.row_finished(RowResult("global-session-cache", "/ok", Verdict.LEAKED, None, None))
    observer.close()
    lines = [line for line in text_of(console).splitlines() if line.strip()]
    assert lines[-1].startswith("global-session-cache /ok")
    assert lines[-1].rstrip().endswith("LEAKED")


def test_a_pipe_gets_plain_lines_and_a_terminal_the_live_view() -> None:
    piped = Console(file=io.StringIO(), width=120)
    with open_observer(piped, live=True) as observer:
        assert type(observer).__name__ == "LineObserver"
    with open_observer(terminal(), live=False) as observer:
        assert type(observer).__name__ == "LineObserver"
    with open_observer(terminal(), live=True) as observer:
        assert isinstance(observer, LiveObserver)
    with open_observer(terminal(), live=True, prometheus_port=0) as observer:
        assert isinstance(observer, ObserverGroup)


def test_an_error_mid_row_does_not_glue_itself_to_the_rows_line() -> None:
    piped = Console(file=io.StringIO(), width=120)
    with pytest.raises(RuntimeError), open_observer(piped, live=False) as observer:
        observer.row_started("with-session", "/ok", 2.0)
        raise RuntimeError("the run stopped")
    piped.print("error: the run stopped")
    assert text_of(piped).splitlines()[-2:] == ["with-session /ok: load", "error: the run stopped"]


def test_clients_that_left_and_streams_open_show_in_the_load_line() -> None:
    snap = RowSnapshot(
        "stream-closed-midway",
        "GET /stream",
        Phase.LOAD,
        duration=4.0,
        load_seconds=1.0,
        phase_seconds=1.0,
        phase_limit=4.0,
        answered=40,
        left=12,
        streams_open=1000,
    )
    assert "5xx 0   left 12   streams open 1,000" in rendered(snap)
    quiet = RowSnapshot("a", "/x", Phase.LOAD, 4.0, 1.0, 1.0, 4.0, answered=40)
    assert "   left " not in rendered(quiet) and "streams open" not in rendered(quiet)
