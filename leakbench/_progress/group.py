"""Choosing how a run reports progress: live view or plain lines, plus optional metrics."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console

from leakbench._progress.events import Event, RunObserver
from leakbench._progress.lines import LineObserver
from leakbench._progress.live import LiveObserver
from leakbench._progress.prometheus import serve_metrics


class ObserverGroup(RunObserver):
    """Hands every event to each observer in turn."""

    def __init__(self, *observers: RunObserver) -> None:
        self.observers = observers

    def notify(self, event: Event) -> None:
        for observer in self.observers:
            observer.notify(event)


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
            lines = LineObserver(console)
            # A run that stops with an error mid-row must not leave that row's line open:
            # the error would be glued to it ("...: loaderror: ...").
            stack.callback(lines.end_open_line)
            observers.insert(0, lines)
        yield observers[0] if len(observers) == 1 else ObserverGroup(*observers)
