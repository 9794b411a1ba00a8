"""Process-wide shutdown state: after a first interrupt, a second one means hurry.

The first SIGINT/SIGTERM unwinds the run in order (every ``with`` block stops
its process and removes its files). A second one must not abort that
cleanup, or children would be orphaned; it only shortens every grace period
so the same cleanup finishes at once, with SIGKILL instead of waiting.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

_hurry = threading.Event()
_stop = threading.Event()
_deferred = threading.Event()


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """While the load's event loop runs, a stop signal only sets the stop request.

    Raising KeyboardInterrupt there can land inside a transport callback, where
    uvloop logs it as a "fatal error" with a traceback and carries on. The
    driver polls :func:`stop_requested` instead and cancels its requests.
    """
    _deferred.set()
    try:
        yield
    finally:
        _deferred.clear()


def defer_interrupts() -> None:
    """From now on (until :func:`reset`), a stop signal only sets the stop request.

    Said once every row is done: the clean-up and the reports must finish, and
    the stop is honoured after them.
    """
    _deferred.set()


def interrupts_deferred() -> bool:
    return _deferred.is_set()


def request_stop() -> None:
    """Remember that the run must stop, for :func:`check` to enforce at the next safe point.

    The signal handler also raises KeyboardInterrupt at once, but an exception
    raised inside an event-loop callback (uvloop's transports) can be swallowed
    there; the request survives that and is honoured a moment later.
    """
    _stop.set()


def stop_requested() -> bool:
    return _stop.is_set()


def check() -> None:
    """Raise KeyboardInterrupt if a stop was requested (a safe point in the run)."""
    if _stop.is_set():
        raise KeyboardInterrupt


def hurry() -> None:
    """Ask every pending stop to skip its grace period."""
    _hurry.set()


def in_a_hurry() -> bool:
    return _hurry.is_set()


def grace(seconds: float) -> float:
    """``seconds``, or nothing when the user asked to hurry."""
    return 0.0 if _hurry.is_set() else seconds


def reset() -> None:
    """Forget a previous stop and hurry (for a new run in the same process)."""
    _hurry.clear()
    _stop.clear()
    _deferred.clear()
