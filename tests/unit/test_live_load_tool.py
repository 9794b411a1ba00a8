"""The live view of a row whose load another tool sends (watch mode, the Locust plugin)."""

from __future__ import annotations

import io
import re

from rich.console import Console

from leakbench._load.driver import LoadProgress
from leakbench._progress.events import LoadSnapshot
from leakbench._progress.live import live_view
from leakbench._progress.tracker import RowTracker
from leakbench._results import Phase

_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


def test_a_watched_row_names_the_tool_instead_of_showing_zero_requests() -> None:
    now = [100.0]
    tracker = RowTracker(clock=lambda: now[0])
    tracker.start("watch", "$ wrk", None)
    tracker.change_phase(Phase.LOAD, None)
    tracker.record(LoadSnapshot.of(LoadProgress(load_tool="wrk")), None)
    now[0] += 2.0
    snapshot = tracker.snapshot()
    assert snapshot is not None and snapshot.load_tool == "wrk"
    console = Console(file=io.StringIO(), force_terminal=True, width=120, color_system=None)
    console.print(live_view(snapshot))
    text = _CONTROL.sub("", console.file.getvalue())  # type: ignore[attr-defined]
    assert "watch $ wrk load" in text and "2.0 s elapsed" in text
    assert "load from wrk: leakbench sends and counts no request" in text
    assert "requests 0" not in text
    # The next row, leakbench's own driver again, shows its counts.
    tracker.start("with-session", "/ok", 4.0)
    tracker.record(LoadSnapshot.of(LoadProgress(sent=5, completed=5)), None)
    again = tracker.snapshot()
    assert again is not None and again.load_tool is None
