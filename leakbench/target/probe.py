"""The in-target probe: loaded into the app's process by leakbench, never by the user.

It counts SQLAlchemy pool events (class-level listeners, so every engine the
app creates is covered without touching its code), remembers where the
app's own code took each connection still checked out
(:mod:`leakbench.target.sites`), and answers commands on a Unix socket:
``stats`` (the counters), ``mark`` (checkouts from now on are the row's),
``outstanding`` (which of the row's checkouts are not returned yet),
``sites`` (where the row's connections still checked out were taken) and
``gc`` (a forced full garbage collection). It runs in a daemon thread and
imports nothing heavy.

SQLAlchemy has no event for a checkout that times out waiting for a full
pool, so the probe wraps ``QueuePool._do_get`` to count those. It also
gives ``Pool`` a ``__new__`` that remembers every pool (used or not;
``__init__`` is left alone because create_engine reads its signature) and
the line of the app that made it (``reclaims`` and ``pools`` answer for the
row): the capacity report knows each pool's size and overflow, and engines
made per request and never disposed show as pools made during the row that
still hold connections.

A checkout whose holder (the pool's connection fairy, held by a Connection
or a Session) is garbage collected without being returned is ended by
SQLAlchemy from the fairy's weakref callback (``_finalize_fairy``, in 1.3,
1.4, 2.0 and 2.1 alike), which fires the checkin event (or, on an asyncio
dialect, the detach event). The probe keeps its own weak reference to the
fairy of every checkout: when the checkin arrives and that reference is
already dead, the collector, not the app, returned the connection.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import socket
import threading
import time
import weakref
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leakbench.target.sites import Site, caller_site

CONTROL_DIR_ENV = "LEAKBENCH_CONTROL_DIR"
# "0" turns the recording of checkout sites off (the benchmark compares both).
CHECKOUT_SITES_ENV = "LEAKBENCH_CHECKOUT_SITES"
# "0" turns off the weak reference kept to each checkout's holder, which tells a checkout
# the collector ended (the benchmark compares both; leakbench never turns it off).
CHECKOUT_HOLDERS_ENV = "LEAKBENCH_CHECKOUT_HOLDERS"
# A detached connection leaves the pool for good without a checkin.
_EVENTS = ("connect", "checkout", "checkin", "detach", "invalidate", "close")
_TIMEOUT = "timeout"
# Checkouts ended because their holder was garbage collected, not returned or closed.
_RECLAIMED = "reclaimed"
# Pools made in this process (one per engine, and one more per engine.dispose()).
_POOL = "pool"


class PoolCounters:
    """Thread-safe counts of pool events in this process, and the pools it made."""

    def __init__(self) -> None:
        # Re-entrant: a collection can end a checkout (or a pool) while this thread holds it.
        self._lock = threading.RLock()
        self.counts = dict.fromkeys((*_EVENTS, _TIMEOUT, _RECLAIMED, _POOL), 0)
        self.sqlalchemy = False
        self.record_sites = True
        self.track_holders = True
        # The class whose instances have a bounded size (QueuePool), once SQLAlchemy is seen.
        self.sized_pool: type[Any] | None = None
        # id(connection record) -> (checkout number, where the app took it, a weak
        # reference to the checkout's holder, the pool's fairy), while checked out.
        self._outstanding: dict[int, tuple[int, Site | None, weakref.ref[Any] | None]] = {}
        self._mark = 0
        self._mark_time = time.monotonic()
        # Every pool made in this process, by number, while it lives; pools numbered
        # above the pool mark were made during the row (None: no row has started).
        self._pools: dict[int, _MadePool] = {}
        self._pool_mark: int | None = None
        self._reclaims: Counter[Site | None] = Counter()
        self._reclaim_times: list[float] = []
        # The checkouts still out when their sites were asked for, and how each ended since:
        # returned by the app (a request still in flight) or by the collector.
        self._watched: dict[int, Site | None] = {}
        self._fates: dict[int, str] = {}

    def bump(self, name: str) -> None:
        with self._lock:
            self.counts[name] += 1

    def checked_out(self, record: object, holder: object) -> None:
        site = caller_site(2) if self.record_sites else None
        ref: weakref.ref[Any] | None = None
        if self.track_holders:
            with contextlib.suppress(TypeError):  # a holder without weak references: unknown
                ref = weakref.ref(holder)
        with self._lock:
            self.counts["checkout"] += 1
            self._outstanding[id(record)] = (self.counts["checkout"], site, ref)

    def checked_in(self, record: object, event: str = "checkin") -> None:
        """A checkin (or detach). SQLAlchemy ends a checkout whose holder was collected
        from the holder's weakref callback: the holder is then already gone."""
        with self._lock:
            self.counts[event] += 1
            entry = self._outstanding.pop(id(record), None)
            if entry is None:
                return
            collected = entry[2] is not None and entry[2]() is None
            if self._watched and entry[0] in self._watched:
                self._fates[entry[0]] = _RECLAIMED if collected else "returned"
            if not collected:
                return
            self.counts[_RECLAIMED] += 1
            self._reclaims[entry[1]] += 1
            if len(self._reclaim_times) < 2:
                self._reclaim_times.append(time.monotonic())
            else:
                self._reclaim_times[1] = time.monotonic()

    def mark(self) -> int:
        """From now on, checkouts, reclaims and pools are the row's."""
        with self._lock:
            self._mark = self.counts["checkout"]
            self._mark_time = time.monotonic()
            self._pool_mark = self.counts[_POOL]
            self._reclaims.clear()
            self._reclaim_times.clear()
            self._watched, self._fates = {}, {}
            return self._mark

    def outstanding(self) -> list[int]:
        """The numbers of the checkouts since the mark not yet returned: the same connection
        still checked out after a collection keeps its number, a refill gets a new one."""
        with self._lock:
            return sorted(n for n, _, _ in self._outstanding.values() if n > self._mark)

    def sites(self) -> list[dict[str, Any]]:
        """Where the connections checked out since the mark and not returned were taken;
        from now on, how each of them ends is remembered (see :meth:`fates`)."""
        with self._lock:
            self._watched = {
                number: site
                for number, site, _ in self._outstanding.values()
                if number > self._mark
            }
            self._fates = {}
            taken = [site for site in self._watched.values() if site is not None]
        return _site_counts(Counter(taken))

    def fates(self) -> list[dict[str, Any]]:
        """For each site :meth:`sites` named: how many are still out, how many the collector
        ended, and how many the app returned since (held by requests still in flight)."""
        with self._lock:
            watched, fates = dict(self._watched), dict(self._fates)
        by_site: dict[Site, Counter[str]] = {}
        for number, site in watched.items():
            if site is not None:
                by_site.setdefault(site, Counter())[fates.get(number, "held")] += 1
        return [
            {
                "file": site.file,
                "line": site.line,
                "function": site.function,
                **{fate: counts[fate] for fate in ("held", _RECLAIMED, "returned")},
            }
            for site, counts in by_site.items()
        ]

    def reclaims(self) -> dict[str, Any]:
        """The checkouts the garbage collector ended since the mark: how many, when, where."""
        with self._lock:
            sites = Counter({s: n for s, n in self._reclaims.items() if s is not None})
            count = sum(self._reclaims.values())
            times = [round(t - self._mark_time, 2) for t in self._reclaim_times]
        return {
            "count": count,
            "first": times[0] if times else None,
            "last": times[-1] if times else None,
            "sites": _site_counts(sites),
        }

    def track(self, pool: Any) -> None:
        site = caller_site(3) if self.record_sites else None
        with self._lock:
            self.counts[_POOL] += 1
            number = self.counts[_POOL]
            self._pools[number] = _MadePool(
                weakref.ref(pool, lambda _ref: self._forget(number)), site, time.monotonic()
            )

    def _forget(self, number: int) -> None:
        with self._lock:
            self._pools.pop(number, None)

    def _live_pools(self) -> list[tuple[int, Any, _MadePool]]:
        with self._lock:
            made = list(self._pools.items())
        return [(n, pool, m) for n, m in made if (pool := m.ref()) is not None]

    def _baseline_pools(self) -> list[Any]:
        """The pools that count for capacity: those made before the row, and of those made
        during it one per line of code (an engine made per request is one engine's size)."""
        chosen: list[Any] = []
        seen: set[Site | None] = set()
        mark = self._pool_mark
        for number, pool, made in self._live_pools():
            if self.sized_pool is None or not isinstance(pool, self.sized_pool):
                continue
            if mark is None or number <= mark:
                chosen.append(pool)
            elif made.site not in seen:
                seen.add(made.site)
                chosen.append(pool)
        return chosen

    def capacity(self) -> int | None:
        """pool_size + max_overflow over the counted QueuePools; None: none, or one unbounded."""
        total = 0
        pools = self._baseline_pools()
        for pool in pools:
            overflow = getattr(pool, "_max_overflow", -1)
            if not isinstance(overflow, int) or overflow < 0:
                return None
            total += int(pool.size()) + overflow
        return total if pools else None

    def idle_capacity(self) -> int | None:
        """The most connections the counted QueuePools keep idle: their pool_size, summed.

        A QueuePool closes an overflow connection when it is returned, so at
        most pool_size of its connections are ever idle in it.
        """
        pools = self._baseline_pools()
        return sum(int(pool.size()) for pool in pools) if pools else None

    def made_pools(self) -> dict[str, Any]:
        """The pools made since the mark that still live, with the connections they hold."""
        mark = self._pool_mark
        with self._lock:
            made_count = self.counts[_POOL] - (mark or 0) if mark is not None else 0
            mark_time = self._mark_time
        by_site: dict[Site | None, list[int]] = {}
        times: list[float] = []
        holding = 0
        for number, pool, made in self._live_pools():
            if mark is None or number <= mark:
                continue
            held = _connections_of(pool, self.sized_pool)
            holding += held > 0
            entry = by_site.setdefault(made.site, [0, 0])
            entry[0] += 1
            entry[1] += held
            times.append(made.at - mark_time)
        sites = [
            {
                "file": site.file if site else "unknown code",
                "line": site.line if site else 0,
                "function": site.function if site else "?",
                "count": pools,
                "connections": held,
            }
            for site, (pools, held) in sorted(by_site.items(), key=lambda kv: -kv[1][1])
        ]
        return {
            "made": made_count,
            "alive": len(times),
            "connections": sum(s["connections"] for s in sites),
            "holding": holding,
            "first": round(min(times), 2) if times else None,
            "last": round(max(times), 2) if times else None,
            "sites": sites,
        }

    def drivers(self) -> list[dict[str, str]]:
        """The DBAPI driver and pool class of each kind of live pool, with the driver's version."""
        kinds: set[tuple[str, str]] = set()
        for _number, pool, _made in self._live_pools():
            dialect = getattr(pool, "_dialect", None)
            driver = getattr(dialect, "driver", None)
            if isinstance(driver, str):
                kinds.add((driver, type(pool).__name__))
        return [
            {"driver": driver, "version": _distribution_version(driver), "pool": pool_class}
            for driver, pool_class in sorted(kinds)
        ]

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


@dataclass(frozen=True, slots=True)
class _MadePool:
    ref: weakref.ref[Any]
    site: Site | None
    at: float


def _site_counts(counts: Counter[Site]) -> list[dict[str, Any]]:
    return [
        {"file": site.file, "line": site.line, "function": site.function, "count": count}
        for site, count in counts.most_common()
    ]


def _connections_of(pool: Any, sized_pool: type[Any] | None) -> int:
    """Connections a QueuePool holds open: idle in it plus checked out of it."""
    if sized_pool is None or not isinstance(pool, sized_pool):
        return 0
    try:
        return max(0, int(pool.checkedin()) + int(pool.checkedout()))
    except Exception:  # a pool being disposed may not answer; it holds none then
        return 0


# The distributions a DBAPI driver's module comes from (the first one installed is named).
_DRIVER_DISTRIBUTIONS = {"psycopg2": ("psycopg2", "psycopg2-binary"), "pg8000": ("pg8000",)}


def _distribution_version(driver: str) -> str:
    from importlib import metadata  # noqa: PLC0415 - only asked once per report

    for name in _DRIVER_DISTRIBUTIONS.get(driver, (driver,)):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


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
    # The proxy is the checkout's holder (the fairy): its death tells a collected checkout.
    event.listen(Pool, "checkout", lambda _dbapi, rec, proxy: COUNTERS.checked_out(rec, proxy))
    event.listen(Pool, "checkin", lambda _dbapi, record: COUNTERS.checked_in(record))
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
                COUNTERS.bump(_TIMEOUT)
            raise

    _do_get.leakbench_probe = True  # type: ignore[attr-defined]  # marks the wrapper
    QueuePool._do_get = _do_get  # type: ignore[method-assign,assignment]  # see the docstring
    Pool.__new__ = __new__  # type: ignore[method-assign]  # see the docstring


_COMMANDS: dict[str, Any] = {
    "stats": COUNTERS.as_dict,
    "mark": lambda: {"mark": COUNTERS.mark()},
    "outstanding": lambda: {"checkouts": COUNTERS.outstanding()},
    "sites": lambda: {"sites": COUNTERS.sites()},
    "fates": lambda: {"fates": COUNTERS.fates()},
    "reclaims": COUNTERS.reclaims,
    "pools": COUNTERS.made_pools,
    "drivers": lambda: {"drivers": COUNTERS.drivers()},
    "gc": lambda: {"collected": gc.collect()},
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
