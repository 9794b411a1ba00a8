"""SIGINT, SIGTERM and the --timeout alarm: one orderly stop, and a hurry on the second.

The first signal raises KeyboardInterrupt in the main thread, which unwinds
the run through its ``with`` blocks (targets stopped, databases dropped,
the embedded server removed) and keeps the finished rows. Any later signal
does not raise again, which would abandon that cleanup half-way; it tells
the cleanup to stop waiting (see :mod:`leakbench._system.shutdown`).
"""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from leakbench._system import shutdown

_NAMES = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM", signal.SIGALRM: "timeout"}


class StopSignals:
    """Installs the handlers inside a ``with`` block; ``reason`` says what stopped the run."""

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = timeout
        self.reason: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        shutdown.reset()
        for signum in _NAMES:
            self._previous[signum] = signal.signal(signum, self._on_signal)
        if self.timeout:
            signal.setitimer(signal.ITIMER_REAL, self.timeout)
        return self

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.reason is None:
            self.reason = _NAMES.get(signal.Signals(signum), "signal")
            shutdown.request_stop()
            if not shutdown.interrupts_deferred():
                raise KeyboardInterrupt
        shutdown.hurry()

    def __exit__(self, *_: object) -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
