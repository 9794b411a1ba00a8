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

from leakbench.load.driver import LoadProgress
from leakbench.output.terminal import verdict_text
from leakbench.progress.events import RunObserver
from leakbench.progress.tracker import RowSnapshot, RowTracker
from leakbench.results import ActivitySample, Phase, RowResult

REFRESH_PER_SECOND = 4  # the runner ticks at 4 Hz; faster frames would show nothing new
_BAR_WIDTH = 30
_PHASE_NAMES = {
    Phase.BASELINE: "baseline",
    Phase.LOAD: "load",
    Phase.SETTLE: "settle",
    Phase.FINAL: "final check",
    Phase.AFTER_GC: "final check",
}
_IDLE_IN_TRANSACTION_LABEL = "bold yellow"
_IDLE_IN_TRANSACTION_ALERT = "bold white on red"


def _seconds(value: float) -> str:
    return f"{value:.1f} s"


def _phase_line(snapshot: RowSnapshot) -> Table:
    line = Table.grid(padding=(0, 1))
    line.add_row(
        Text(f"{snapshot.pattern} {snapshot.endpoint}", style="bold"),
        Text(_PHASE_NAMES[snapshot.phase], style="cyan"),
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
    text = Text()
    text.append("requests ", style="dim").append(f"{snapshot.answered:,}")
    text.append("   req/s ", style="dim").append(f"{snapshot.requests_per_second:,.0f}")
    text.append("   errors ", style="dim").append(
        f"{snapshot.errors:,}", style="bold red" if snapshot.errors else ""
    )
    text.append("   5xx ", style="dim").append(f"{snapshot.server_errors:,}")
    return text


def connections_text(sample: ActivitySample | None) -> Text:
    """The target database's connections by state, idle in transaction highlighted."""
    text = Text("connections ", style="dim")
    if sample is None:
        return text.append("not sampled yet")
    text.append("active ", style="dim").append(str(sample.active))
    text.append("   idle ", style="dim").append(str(sample.idle))
    text.append("   idle in transaction ", style=_IDLE_IN_TRANSACTION_LABEL)
    text.append(
        f" {sample.in_transaction} ",
        style=_IDLE_IN_TRANSACTION_ALERT if sample.in_transaction else _IDLE_IN_TRANSACTION_LABEL,
    )
    if sample.idle_in_transaction_aborted:
        text.append(f"({sample.idle_in_transaction_aborted} aborted)", style="dim")
    if sample.other:
        text.append("   other ", style="dim").append(str(sample.other))
    text.append("   total ", style="dim").append(str(sample.total))
    if sample.oldest_transaction_seconds is not None:
        text.append("   oldest transaction ", style="dim").append(
            _seconds(sample.oldest_transaction_seconds)
        )
    return text


def live_view(snapshot: RowSnapshot) -> RenderableType:
    """What the live area shows for the running row."""
    connections = connections_text(snapshot.sample)
    if snapshot.pool_checked_out is not None:
        connections.append("   pool checked out ", style="dim")
        connections.append(str(snapshot.pool_checked_out))
    return Group(_phase_line(snapshot), _load_line(snapshot), connections)


def finished_line(row: RowResult) -> Text:
    """The line that stays once a row is done."""
    text = Text(f"{row.pattern} {row.endpoint}", style="bold")
    if row.load is not None:
        load = row.load
        text.append(
            f"  {load.responses:,} requests, {load.rps:,.0f} req/s, {load.errors:,} errors"
            + (f", {load.disconnects:,} unanswered" if load.disconnects else ""),
            style="dim",
        )
    if row.findings is not None:
        findings = row.findings
        text.append(
            f"  idle in transaction: peak {findings.peak_idle_in_transaction}, "
            f"after settle {findings.after_settle.in_transaction}"
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

    def run_started(self, database: str) -> None:
        self.console.print(f"database: {database}", highlight=False)

    def row_started(self, pattern: str, endpoint: str, duration: float | None) -> None:
        self.tracker.start(pattern, endpoint, duration)
        with self._lock:
            if self._live is None:
                self._live = Live(
                    console=self.console,
                    get_renderable=self._render,
                    refresh_per_second=REFRESH_PER_SECOND,
                    transient=True,
                )
                self._live.start()

    def phase_changed(self, phase: Phase, limit_seconds: float | None) -> None:
        self.tracker.change_phase(phase, limit_seconds)

    def tick(self, progress: LoadProgress, sample: ActivitySample | None) -> None:
        self.tracker.record(progress, sample)

    def pool_seen(self, checked_out: int) -> None:
        self.tracker.record_pool(checked_out)

    def row_finished(self, row: RowResult) -> None:
        self.close()
        self.tracker.finish()
        self.console.print(finished_line(row), highlight=False)

    def warning(self, text: str) -> None:
        self.console.print(f"[yellow]warning:[/] {text}", highlight=False)

    def close(self) -> None:
        """Stop the live area (idempotent); the run's own lines stay."""
        with self._lock:
            live, self._live = self._live, None
        if live is not None:
            live.stop()
