"""Choosing how a run reports progress: live view or plain lines, plus optional metrics."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console

from leakbench.load.driver import LoadProgress
from leakbench.progress.events import RunObserver
from leakbench.progress.lines import LineObserver
from leakbench.progress.live import LiveObserver
from leakbench.progress.prometheus import serve_metrics
from leakbench.results import ActivitySample, Phase, RowResult


class ObserverGroup(RunObserver):
    """Hands every callback to each observer in turn."""

    def __init__(self, *observers: RunObserver) -> None:
        self.observers = observers

    def run_started(self, database: str) -> None:
        for observer in self.observers:
            observer.run_started(database)

    def database_created(self, database: str) -> None:
        for observer in self.observers:
            observer.database_created(database)

    def row_started(self, pattern: str, endpoint: str, duration: float | None) -> None:
        for observer in self.observers:
            observer.row_started(pattern, endpoint, duration)

    def phase_changed(self, phase: Phase, limit_seconds: float | None) -> None:
        for observer in self.observers:
            observer.phase_changed(phase, limit_seconds)

    def tick(self, progress: LoadProgress, sample: ActivitySample | None) -> None:
        for observer in self.observers:
            observer.tick(progress, sample)

    def pool_seen(self, checked_out: int) -> None:
        for observer in self.observers:
            observer.pool_seen(checked_out)

    def row_finished(self, row: RowResult) -> None:
        for observer in self.observers:
            observer.row_finished(row)

    def warning(self, text: str) -> None:
        for observer in self.observers:
            observer.warning(text)


def wants_live(console: Console, *, live: bool) -> bool:
    """The live view needs a real terminal; a pipe, a file or a dumb terminal gets lines."""
    return live and console.is_terminal and not console.is_dumb_terminal


@contextlib.contextmanager
def open_observer(
    console: Console, *, live: bool = True, prometheus_port: int | None = None
) -> Iterator[RunObserver]:
    """The run's observer: live or lines on ``console``, and ``/metrics`` when a port is given.

    The metrics port is bound before anything else starts, so a port in use is
    a usage error reported at once. Everything is stopped when the block ends.
    """
    with contextlib.ExitStack() as stack:
        observers: list[RunObserver] = []
        if prometheus_port is not None:
            metrics, server = stack.enter_context(serve_metrics(prometheus_port))
            console.print(f"metrics: {server.url}", highlight=False)
            observers.append(metrics)
        if wants_live(console, live=live):
            observers.insert(0, stack.enter_context(LiveObserver(console)))
        else:
            observers.insert(0, LineObserver(console))
        yield observers[0] if len(observers) == 1 else ObserverGroup(*observers)
