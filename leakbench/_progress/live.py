"""The live view of a run at a terminal (rich Live), in the spirit of oha and pg_activity.

While a row runs it shows the load's elapsed and remaining time, requests,
the recent request rate, errors, and the target database's connections by
state as last sampled (idle in transaction highlighted); then the settle
phase with its countdown. When the row ends the live area is replaced by
one line that stays.

Callbacks arrive from the runner's threads and rich refreshes the view from
its own thread; all shared state sits in a :class:`RowTracker`, and the Live
object is started and stopped under a lock.
"""

from __future__ import annotations

import threading

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from leakbench._output.style import (
    ERROR_STYLE,
    IDLE_IN_TRANSACTION_ALERT,
    IDLE_IN_TRANSACTION_STYLE,
    LABEL_STYLE,
    NAME_STYLE,
    PHASE_STYLE,
    verdict_text,
    warning_text,
)
from leakbench._progress.events import (
    Event,
    RowFinished,
    RowStarted,
    RunObserver,
    RunStarted,
    RunWarning,
)
from leakbench._progress.tracker import RowSnapshot, RowTracker
from leakbench._results import ActivitySample, Phase, RowResult

REFRESH_PER_SECOND = 4  # the runner ticks at 4 Hz; faster frames would show nothing new
_BAR_WIDTH = 30
_PHASE_NAMES = {
    Phase.BASELINE: "baseline",
    Phase.LOAD: "load",
    Phase.SETTLE: "settle",
    Phase.FINAL: "final check",
    Phase.AFTER_GC: "final check",
}


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


def _phase_line(snapshot: RowSnapshot) -> Table:
    line = Table.grid(padding=(0, 1))
    line.add_row(
        Text(f"{snapshot.target} {snapshot.endpoint}", style=NAME_STYLE),
        Text(_PHASE_NAMES[snapshot.phase], style=PHASE_STYLE),
        *_phase_progress(snapshot),
    )
    return line


def _phase_progress(snapshot: RowSnapshot) -> list[RenderableType]:
    if snapshot.phase is Phase.LOAD:
        elapsed = _seconds(snapshot.load_seconds)
        remaining = snapshot.load_remaining
        if snapshot.duration is None or remaining is None:
            return [Text(f"{elapsed} elapsed")]
        bar = ProgressBar(
            total=snapshot.duration, completed=snapshot.load_seconds, width=_BAR_WIDTH
        )
        return [bar, Text(f"{elapsed} of {snapshot.duration:g} s, {_seconds(remaining)} left")]
    if snapshot.phase is Phase.SETTLE and snapshot.phase_limit is not None:
        remaining = snapshot.phase_remaining or 0.0
        bar = ProgressBar(
            total=snapshot.phase_limit, completed=snapshot.phase_seconds, width=_BAR_WIDTH
        )
        return [
            bar,
            Text(
                f"{_seconds(snapshot.phase_seconds)}, at most {_seconds(remaining)} left "
                "(ends once the connections are quiet)"
            ),
        ]
    return [Text(_seconds(snapshot.phase_seconds))]


def _load_line(snapshot: RowSnapshot) -> Text:
    if snapshot.load_tool is not None:
        return Text(f"load from {snapshot.load_tool}: leakbench sends and counts no request", "dim")
    text = Text()
    text.append("requests ", style=LABEL_STYLE).append(f"{snapshot.answered:,}")
    text.append("   req/s ", style=LABEL_STYLE).append(f"{snapshot.requests_per_second:,.0f}")
    text.append("   errors ", style=LABEL_STYLE).append(
        f"{snapshot.errors:,}", style=ERROR_STYLE if snapshot.errors else ""
    )
    text.append("   5xx ", style=LABEL_STYLE).append(f"{snapshot.server_errors:,}")
    if snapshot.left:
        text.append("   left ", style=LABEL_STYLE).append(f"{snapshot.left:,}")
    if snapshot.streams_open:
        text.append("   streams open ", style=LABEL_STYLE).append(f"{snapshot.streams_open:,}")
    return text


def connections_text(sample: ActivitySample | None) -> Text:
    """The target database's connections by state, idle in transaction highlighted."""
    text = Text("connections ", style=LABEL_STYLE)
    if sample is None:
        return text.append("not sampled yet")
    text.append("active ", style=LABEL_STYLE).append(str(sample.active))
    text.append("   idle ", style=LABEL_STYLE).append(str(sample.idle))
    text.append("   idle in transaction ", style=IDLE_IN_TRANSACTION_STYLE)
    text.append(
        f" {sample.in_transaction} ",
        style=IDLE_IN_TRANSACTION_ALERT if sample.in_transaction else IDLE_IN_TRANSACTION_STYLE,
    )
    if sample.idle_in_transaction_aborted:
        text.append(f"({sample.idle_in_transaction_aborted} aborted)", style=LABEL_STYLE)
    if sample.other:
        text.append("   other ", style=LABEL_STYLE).append(str(sample.other))
    text.append("   total ", style=LABEL_STYLE).append(str(sample.total))
    if sample.oldest_transaction_seconds is not None:
        text.append("   oldest transaction ", style=LABEL_STYLE).append(
            _seconds(sample.oldest_transaction_seconds)
        )
    return text


def live_view(snapshot: RowSnapshot) -> RenderableType:
    """What the live area shows for the running row."""
    connections = connections_text(snapshot.sample)
    if snapshot.pool_checked_out is not None:
        connections.append("   pool checked out ", style=LABEL_STYLE)
        connections.append(str(snapshot.pool_checked_out))
    return Group(_phase_line(snapshot), _load_line(snapshot), connections)


def finished_line(row: RowResult, width: int | None = None) -> Text:
    """The line that stays once a row is done; within ``width``, a shorter one if need be."""
    full = _finished_line(row, compact=False)
    if width is None or full.cell_len <= width:
        return full
    return _finished_line(row, compact=True)


def _finished_line(row: RowResult, *, compact: bool) -> Text:
    text = Text(f"{row.target} {row.endpoint}", style=NAME_STYLE)
    load, findings = row.load, row.findings
    if load is not None:
        unanswered = f", {load.disconnects:,} unanswered" if load.disconnects else ""
        if load.left:
            unanswered += f", {load.left:,} left"
        figures = (
            f"{load.responses:,} req"
            if compact
            else f"{load.responses:,} requests, {load.rps:,.0f} req/s, {load.errors:,} errors"
            + unanswered
        )
        text.append(f"  {figures}", style=LABEL_STYLE)
    if findings is not None:
        peak, after = findings.peak_idle_in_transaction, findings.after_settle.in_transaction
        text.append(
            f"  idle in txn {peak} → {after}"
            if compact
            else f"  idle in transaction: peak {peak}, after settle {after}"
        )
    text.append("  ")
    text.append_text(verdict_text(row.verdict))
    return text


class LiveObserver(RunObserver):
    """Shows each row live while it runs, then leaves its result line."""

    def __init__(self, console: Console, tracker: RowTracker | None = None) -> None:
        self.console = console
        self.tracker = tracker or RowTracker()
        self._lock = threading.Lock()
        self._live: Live | None = None

    def __enter__(self) -> LiveObserver:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _render(self) -> RenderableType:
        snapshot = self.tracker.snapshot()
        return live_view(snapshot) if snapshot is not None else Text("")

    def notify(self, event: Event) -> None:
        match event:
            case RunStarted(database):
                self.console.print(f"database: {database}", highlight=False)
            case RowStarted():
                self.tracker.apply(event)
                self._start_live()
            case RowFinished(row):
                self.close()
                self.tracker.apply(event)
                self.console.print(finished_line(row, self.console.width), highlight=False)
            case RunWarning(text):
                self.console.print(warning_text(text), highlight=False)
            case _:
                self.tracker.apply(event)

    def _start_live(self) -> None:
        with self._lock:
            if self._live is None:
                self._live = Live(
                    console=self.console,
                    get_renderable=self._render,
                    refresh_per_second=REFRESH_PER_SECOND,
                    transient=True,
                )
                self._live.start()

    def close(self) -> None:
        """Stop the live area (idempotent); the run's own lines stay."""
        with self._lock:
            live, self._live = self._live, None
        if live is not None:
            live.stop()
