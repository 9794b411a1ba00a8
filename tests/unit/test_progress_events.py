"""The observer protocol: every callback becomes one frozen event, a group forwards each one."""

from __future__ import annotations

import dataclasses

import pytest

from leakbench._load.driver import LoadProgress
from leakbench._progress.events import (
    DatabaseCreated,
    Event,
    LoadSnapshot,
    PhaseChanged,
    PoolSeen,
    RowFinished,
    RowStarted,
    RunObserver,
    RunStarted,
    RunWarning,
    Tick,
)
from leakbench._progress.group import ObserverGroup
from leakbench._progress.tracker import RowTracker
from leakbench._results import ActivitySample, Phase, RowResult, Verdict


class Recorder(RunObserver):
    def __init__(self) -> None:
        self.events: list[Event] = []

    def notify(self, event: Event) -> None:
        self.events.append(event)


def _drive(observer: RunObserver, progress: LoadProgress) -> RowResult:
    row = RowResult("with-session", "/ok", Verdict.CLEAN, None, None)
    observer.run_started("embedded")
    observer.database_created("leakbench_x_0")
    observer.row_started("with-session", "/ok", 2.0)
    observer.phase_changed(Phase.LOAD, 2.0)
    observer.tick(progress, ActivitySample(0.5, Phase.LOAD, idle_in_transaction=3))
    observer.pool_seen(4)
    observer.row_finished(row)
    observer.warning("careful")
    return row


def test_a_group_hands_every_event_to_each_observer_in_order() -> None:
    first, second = Recorder(), Recorder()
    progress = LoadProgress(sent=12, completed=10, transport_errors=1, timeouts=1, server_errors=3)
    row = _drive(ObserverGroup(first, second), progress)
    expected = [
        RunStarted("embedded"),
        DatabaseCreated("leakbench_x_0"),
        RowStarted("with-session", "/ok", 2.0),
        PhaseChanged(Phase.LOAD, 2.0),
        Tick(
            LoadSnapshot(sent=12, completed=10, errors=2, server_errors=3),
            ActivitySample(0.5, Phase.LOAD, idle_in_transaction=3),
        ),
        PoolSeen(4),
        RowFinished(row),
        RunWarning("careful"),
    ]
    assert first.events == expected
    assert second.events == expected
    # One event object per callback, shared by the group's observers.
    assert all(a is b for a, b in zip(first.events, second.events, strict=True))


def test_a_tick_carries_a_snapshot_not_the_drivers_live_counters() -> None:
    recorder = Recorder()
    progress = LoadProgress(sent=5, completed=5)
    recorder.tick(progress, None)
    progress.completed = 500  # the driver keeps counting
    tick = recorder.events[0]
    assert isinstance(tick, Tick)
    assert tick.load.completed == 5
    with pytest.raises(dataclasses.FrozenInstanceError):
        tick.load.completed = 6  # type: ignore[misc]


def test_the_tracker_follows_a_row_from_events_alone() -> None:
    tracker = RowTracker(clock=lambda: 10.0)
    recorder = Recorder()
    _drive(recorder, LoadProgress(sent=12, completed=10))
    for event in recorder.events[:6]:  # up to the pool reading, before the row ends
        tracker.apply(event)
    snapshot = tracker.snapshot()
    assert snapshot is not None
    assert (snapshot.target, snapshot.phase, snapshot.completed) == (
        "with-session",
        Phase.LOAD,
        10,
    )
    assert snapshot.pool_checked_out == 4
    assert snapshot.sample is not None and snapshot.sample.in_transaction == 3
    tracker.apply(recorder.events[6])  # RowFinished
    assert tracker.snapshot() is None
