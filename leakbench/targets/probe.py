"""The in-target probe: loaded into the app's process by leakbench, never by the user.

It counts SQLAlchemy pool events (class-level listeners, so every engine the
app creates is covered without touching its code), remembers where the
app's own code took each connection still checked out
(:mod:`leakbench.targets.sites`), and answers commands on a Unix socket:
``stats`` (the counters), ``mark`` (checkouts from now on are the row's),
``outstanding`` (which of the row's checkouts are not returned yet),
``sites`` (where the row's connections still checked out were taken) and
``gc`` (a forced full garbage collection). It runs in a daemon thread and
imports nothing heavy.

SQLAlchemy has no event for a checkout that times out waiting for a full
pool, so the probe wraps ``QueuePool._do_get`` to count those. It also
gives ``QueuePool`` a ``__new__`` that remembers every pool (used or not;
``__init__`` is left alone because create_engine reads its signature), so
the capacity report knows each pool's size and overflow.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import socket
import threading
import weakref
from collections import Counter
from pathlib import Path
from typing import Any

from leakbench.targets.sites import Site, caller_site

CONTROL_DIR_ENV = "LEAKBENCH_CONTROL_DIR"
# "0" turns the recording of checkout sites off (the benchmark compares both).
CHECKOUT_SITES_ENV = "LEAKBENCH_CHECKOUT_SITES"
# A detached connection leaves the pool for good without a checkin.
_EVENTS = ("connect", "checkout", "checkin", "detach", "invalidate", "close")
_TIMEOUT = "timeout"


class PoolCounters:
    """Thread-safe counts of pool events in this process, and the QueuePools seen."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts = dict.fromkeys((*_EVENTS, _TIMEOUT), 0)
        self.sqlalchemy = False
        self.pools: weakref.WeakSet[Any] = weakref.WeakSet()
        self.record_sites = True
        # id(connection record) -> (checkout number, where the app took it), while checked out.
        self._outstanding: dict[int, tuple[int, Site | None]] = {}
        self._mark = 0

    def bump(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    def checked_out(self, record: object) -> None:
        site = caller_site(2) if self.record_sites else None
        with self._lock:
            self.counts["checkout"] += 1
            self._outstanding[id(record)] = (self.counts["checkout"], site)

    def checked_in(self, record: object, event: str = "checkin") -> None:
        with self._lock:
            self.counts[event] += 1
            self._outstanding.pop(id(record), None)

    def mark(self) -> int:
        """From now on, checkouts are the row's: :meth:`sites` reports only those."""
        with self._lock:
            self._mark = self.counts["checkout"]
            return self._mark

    def outstanding(self) -> list[int]:
        """The numbers of the checkouts since the mark not yet returned: the same connection
        still checked out after a collection keeps its number, a refill gets a new one."""
        with self._lock:
            return sorted(n for n, _ in self._outstanding.values() if n > self._mark)

    def sites(self) -> list[dict[str, Any]]:
        """Where the connections checked out since the mark and not returned were taken."""
        with self._lock:
            taken = [
                site
                for number, site in self._outstanding.values()
                if number > self._mark and site is not None
            ]
        return [
            {"file": site.file, "line": site.line, "function": site.function, "count": count}
            for site, count in Counter(taken).most_common()
        ]

    def track(self, pool: Any) -> None:
        with self._lock:
            self.pools.add(pool)

    def capacity(self) -> int | None:
        """pool_size + max_overflow over the live QueuePools; None if none or one is unbounded."""
        total = 0
        with self._lock:
            pools = list(self.pools)
        for pool in pools:
            overflow = getattr(pool, "_max_overflow", -1)
            if not isinstance(overflow, int) or overflow < 0:
                return None
            total += int(pool.size()) + overflow
        return total if pools else None

    def idle_capacity(self) -> int | None:
        """The most connections the live QueuePools keep idle: their pool_size, summed.

        A QueuePool closes an overflow connection when it is returned, so at
        most pool_size of its connections are ever idle in it.
        """
        with self._lock:
            pools = list(self.pools)
        return sum(int(pool.size()) for pool in pools) if pools else None

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            counts = dict(self.counts)
        return {
            "pid": os.getpid(),
            "sqlalchemy": self.sqlalchemy,
            "capacity": self.capacity(),
            "idle_capacity": self.idle_capacity(),
            **counts,
        }


COUNTERS = PoolCounters()


def _listen_to_pools() -> None:
    try:
        from sqlalchemy import event  # noqa: PLC0415 - the app may not use SQLAlchemy
        from sqlalchemy.pool import Pool  # noqa: PLC0415
    except ImportError:
        return
    for name in ("connect", "invalidate", "close"):
        # Bind name now: a closure over the loop variable would see only the last.
        event.listen(Pool, name, lambda *_, _n=name: COUNTERS.bump(_n))
    event.listen(Pool, "checkout", lambda _dbapi, record, _proxy: COUNTERS.checked_out(record))
    event.listen(Pool, "checkin", lambda _dbapi, record: COUNTERS.checked_in(record))
    event.listen(Pool, "detach", lambda _dbapi, record: COUNTERS.checked_in(record, "detach"))
    COUNTERS.sqlalchemy = True
    _watch_queue_pools()


def _watch_queue_pools() -> None:
    from sqlalchemy import exc  # noqa: PLC0415 - only reached when the app has SQLAlchemy
    from sqlalchemy.pool import QueuePool  # noqa: PLC0415

    original = getattr(QueuePool, "_do_get", None)
    if original is None or getattr(original, "leakbench_probe", False):
        return

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
                COUNTERS.bump(_TIMEOUT)
            raise

    _do_get.leakbench_probe = True  # type: ignore[attr-defined]  # marks the wrapper
    QueuePool._do_get = _do_get  # type: ignore[method-assign,assignment]  # see the docstring
    QueuePool.__new__ = __new__  # type: ignore[method-assign]  # see the docstring


def _answer(command: str) -> dict[str, Any]:
    if command == "stats":
        return COUNTERS.as_dict()
    if command == "mark":
        return {"pid": os.getpid(), "mark": COUNTERS.mark()}
    if command == "outstanding":
        return {"pid": os.getpid(), "checkouts": COUNTERS.outstanding()}
    if command == "sites":
        return {"pid": os.getpid(), "sites": COUNTERS.sites()}
    if command == "gc":
        collected = gc.collect()
        return {"pid": os.getpid(), "collected": collected}
    return {"error": f"unknown command {command!r}"}


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
    _listen_to_pools()
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
