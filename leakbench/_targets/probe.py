"""The in-target probe: loaded into the app's process by leakbench (or ``leakbench probe``).

It counts SQLAlchemy pool events (class-level listeners, so every engine the
app creates is covered without touching its code), remembers where the
app's own code took each connection still checked out
(:mod:`leakbench._targets.sites`), and answers commands on a Unix socket:
``stats`` (the counters), ``mark`` (checkouts from now on are the row's),
``outstanding`` (which of the row's checkouts are not returned yet),
``sites`` (where the row's connections still checked out were taken),
``fates`` (how those ended since: still out, collected, or returned by a
request that was still in flight), ``reclaims`` (the row's checkouts the
collector ended), ``pools`` (pools made during the row, with the connections
they hold), ``drivers`` (the DBAPI drivers and pool classes in use), ``versions``
(Python's and the app's packages' versions as this process sees them: the
report's) and ``gc`` (a forced full garbage collection). The book itself is
:mod:`leakbench._targets.pool_counters`. It runs in a daemon thread and
imports nothing heavy. ``leakbench probe`` loads it into processes
leakbench did not start (:mod:`leakbench._targets.autoload`).

SQLAlchemy has no event for a checkout that times out waiting for a full
pool, so the probe wraps ``QueuePool._do_get`` to count those. It also
gives ``Pool`` a ``__new__`` that remembers every pool (used or not;
``__init__`` is left alone because create_engine reads its signature) and
the line of the app that made it (``reclaims`` and ``pools`` answer for the
row): the capacity report knows each pool's size and overflow, and engines
made per request and never disposed show as pools made during the row that
still hold connections.

psycopg_pool's own pools (an app without SQLAlchemy) are remembered the same
way, and ``stats`` adds their own figures (``get_stats()``: size, available,
requests waiting), summed: see :mod:`leakbench._targets.psycopg_pools`.

A checkout whose holder (the pool's connection fairy, held by a Connection
or a Session) is garbage collected without being returned is ended by
SQLAlchemy from the fairy's weakref callback (``_finalize_fairy``, in 1.3,
1.4, 2.0 and 2.1 alike), which fires the checkin event (or, on an asyncio
dialect, the detach event). The probe keeps its own weak reference to the
fairy of every checkout: when the checkin arrives and that reference is
already dead, the collector, not the app, returned the connection.

The forced collection (``gc``) runs on the app's event loop, not in the
probe's thread. A collection runs the finalizers of what it frees in the
thread that runs it, and on an asyncio dialect SQLAlchemy's
``_finalize_fairy`` terminates the connection there ("which will be
terminated"): on asyncpg, ``Connection.terminate()`` aborts the transport
and schedules callbacks with ``loop.call_soon``, which only the loop's own
thread may do. From the probe's thread that corrupted uvloop's loop and the
app died of a segmentation fault in the middle of the collection, so the
collection never answered and the leak's kind was unknown. The probe
remembers the event loop the app's connections are opened on (the running
loop at each pool ``connect``) and hands the collection to it with
``call_soon_threadsafe``; an app with no running loop (sync drivers in
threads) is collected in the probe's thread as before.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import platform
import socket
import sys
import threading
import weakref
from importlib import metadata
from pathlib import Path
from typing import Any

# Relative, as the probe's files import each other: ``leakbench probe`` loads them into the
# app as a private package of their own, without the leakbench package (see autoload).
from . import psycopg_pools
from .pool_counters import TIMEOUT, PoolCounters

CONTROL_DIR_ENV = "LEAKBENCH_CONTROL_DIR"
# "0" turns the recording of checkout sites off (the benchmark compares both).
CHECKOUT_SITES_ENV = "LEAKBENCH_CHECKOUT_SITES"
# "0" turns off the weak reference kept to each checkout's holder, which tells a checkout
# the collector ended (the benchmark compares both; leakbench never turns it off).
CHECKOUT_HOLDERS_ENV = "LEAKBENCH_CHECKOUT_HOLDERS"
COUNTERS = PoolCounters()
# psycopg_pool's own pools (no SQLAlchemy): their figures, read from the pools themselves.
PSYCOPG_POOLS = psycopg_pools.PsycopgPools()
# Most seconds the probe waits for the app's event loop to run a forced collection (less
# than the 10 s leakbench waits for an answer): a loop blocked that long answers an error.
LOOP_COLLECT_SECONDS = 8.0
# The distributions a report records, read in the target process.
RECORDED_PACKAGES = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "sqlmodel",
    "psycopg",
    "psycopg2-binary",
    "asyncpg",
    "uvicorn",
    "httpx2",
)


def _listen_to_pools() -> None:
    try:
        from sqlalchemy import event  # noqa: PLC0415 - the app may not use SQLAlchemy
        from sqlalchemy.pool import Pool  # noqa: PLC0415
    except ImportError:
        return
    for name in ("connect", "invalidate", "close"):
        # Bind name now: a closure over the loop variable would see only the last.
        event.listen(Pool, name, lambda *_, _n=name: COUNTERS.bump(_n))
    # The proxy is the checkout's holder (the fairy): its death tells a collected checkout.
    event.listen(Pool, "checkout", lambda _dbapi, rec, proxy: COUNTERS.checked_out(rec, proxy))
    event.listen(Pool, "checkin", lambda _dbapi, record: COUNTERS.checked_in(record))
    event.listen(Pool, "connect", lambda *_: LOOPS.note())
    event.listen(Pool, "detach", lambda _dbapi, record: COUNTERS.checked_in(record, "detach"))
    COUNTERS.sqlalchemy = True
    _watch_queue_pools()


def _watch_queue_pools() -> None:
    from sqlalchemy import exc  # noqa: PLC0415 - only reached when the app has SQLAlchemy
    from sqlalchemy.pool import Pool, QueuePool  # noqa: PLC0415

    original = getattr(QueuePool, "_do_get", None)
    if original is None or getattr(original, "leakbench_probe", False):
        return
    COUNTERS.sized_pool = QueuePool

    def __new__(cls: type[Any], *_args: Any, **_kwargs: Any) -> Any:
        pool = object.__new__(cls)
        COUNTERS.track(pool)
        return pool

    def _do_get(pool: Any) -> Any:
        try:
            return original(pool)
        except exc.TimeoutError as error:
            # _do_get retries by calling itself: count each timeout once.
            if not getattr(error, "leakbench_counted", False):
                error.leakbench_counted = True  # type: ignore[attr-defined]  # a marker only
                COUNTERS.bump(TIMEOUT)
            raise

    _do_get.leakbench_probe = True  # type: ignore[attr-defined]  # marks the wrapper
    QueuePool._do_get = _do_get  # type: ignore[method-assign,assignment]  # see the docstring
    Pool.__new__ = __new__  # type: ignore[method-assign]  # see the docstring


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def versions() -> dict[str, str]:
    """Python's and the recorded packages' versions in this process."""
    return {"python": platform.python_version(), **{n: _version(n) for n in RECORDED_PACKAGES}}


class AppLoops:
    """The event loop the app's connections are opened on: the last one seen running at a
    pool ``connect`` (weakly: a loop the app closed and dropped is forgotten)."""

    def __init__(self) -> None:
        self._loop: weakref.ref[Any] | None = None

    def note(self) -> None:
        """Remember the running event loop of the calling thread, if it has one."""
        asyncio = sys.modules.get("asyncio")  # not imported: no loop can be running
        loop = asyncio._get_running_loop() if asyncio is not None else None
        if loop is not None and (self._loop is None or self._loop() is not loop):
            self._loop = weakref.ref(loop)

    def running(self) -> Any:
        """The remembered loop if it still runs, else None."""
        loop = self._loop() if self._loop is not None else None
        if loop is None or loop.is_closed() or not loop.is_running():
            return None
        return loop


LOOPS = AppLoops()


def collect(loops: AppLoops = LOOPS, within: float = LOOP_COLLECT_SECONDS) -> dict[str, Any]:
    """A full garbage collection, on the app's event loop when it has one (see the module's
    docstring); an error when that loop does not run it within ``within`` seconds."""
    loop = loops.running()
    if loop is None:
        return {"collected": gc.collect(), "thread": threading.current_thread().name}
    done = threading.Event()
    answer: dict[str, Any] = {}

    def run() -> None:
        try:
            answer.update(collected=gc.collect(), thread=threading.current_thread().name)
        finally:
            done.set()

    try:
        loop.call_soon_threadsafe(run)
    except RuntimeError:  # closed since: nothing runs on it any more
        return {"collected": gc.collect(), "thread": threading.current_thread().name}
    if not done.wait(within):
        return {
            "error": f"the app's event loop did not run the collection within {within:g} s "
            "(a handler blocking it?)"
        }
    return answer


_COMMANDS: dict[str, Any] = {
    "stats": lambda: {**COUNTERS.as_dict(), **PSYCOPG_POOLS.figures()},
    "mark": lambda: {"mark": COUNTERS.mark()},
    "outstanding": lambda: {"checkouts": COUNTERS.outstanding()},
    "sites": lambda: {"sites": COUNTERS.sites()},
    "fates": lambda: {"fates": COUNTERS.fates()},
    "reclaims": COUNTERS.reclaims,
    "pools": COUNTERS.made_pools,
    "drivers": lambda: {"drivers": COUNTERS.drivers() + PSYCOPG_POOLS.kinds()},
    "versions": lambda: {"versions": versions()},
    "gc": collect,
}


def _answer(command: str) -> dict[str, Any]:
    handler = _COMMANDS.get(command)
    if handler is None:
        return {"error": f"unknown command {command!r}"}
    answer: dict[str, Any] = handler()
    return {"pid": os.getpid(), **answer}


def _serve(server: socket.socket) -> None:
    while True:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn, contextlib.suppress(OSError, ValueError):
            command = conn.makefile("r").readline().strip()
            conn.sendall(json.dumps(_answer(command)).encode() + b"\n")


def install() -> None:
    """Start counting and serving, if leakbench asked for it through the environment."""
    control_dir = os.environ.get(CONTROL_DIR_ENV)
    if not control_dir:
        return
    COUNTERS.record_sites = os.environ.get(CHECKOUT_SITES_ENV, "1") != "0"
    COUNTERS.track_holders = os.environ.get(CHECKOUT_HOLDERS_ENV, "1") != "0"
    _listen_to_pools()
    psycopg_pools.install(PSYCOPG_POOLS)
    path = Path(control_dir) / f"ctl-{os.getpid()}.sock"
    path.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)
    threading.Thread(target=_serve, args=(server,), name="leakbench-probe", daemon=True).start()


def ask(path: Path, command: str, timeout: float = 10.0) -> dict[str, Any] | None:
    """Send ``command`` to the probe listening at ``path`` (used by leakbench itself)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(timeout)
            client.connect(str(path))
            client.sendall(command.encode() + b"\n")
            line = client.makefile("r").readline()
    except OSError:
        return None
    try:
        answer = json.loads(line)
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None
