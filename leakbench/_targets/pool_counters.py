"""The probe's book of one process's SQLAlchemy pools: checkouts, reclaims, pools made.

Thread-safe; imports only the standard library (the probe loads it into the
app's process, see :mod:`leakbench._targets.probe`). A checkout whose holder
(the pool's connection fairy) is already dead when its checkin or detach
arrives was ended by the garbage collector, not returned by the app.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import weakref
from collections import Counter
from dataclasses import dataclass
from typing import Any

# Relative: see leakbench._targets.probe (the probe's files are loaded as a package of their own).
from .sites import Site, caller_site

# A detached connection leaves the pool for good without a checkin.
EVENTS = ("connect", "checkout", "checkin", "detach", "invalidate", "close")
TIMEOUT = "timeout"
# Checkouts ended because their holder was garbage collected, not returned or closed.
RECLAIMED = "reclaimed"
# Pools made in this process (one per engine, and one more per engine.dispose()).
POOL = "pool"


class PoolCounters:
    """Thread-safe counts of pool events in this process, and the pools it made."""

    def __init__(self) -> None:
        # Re-entrant: a collection can end a checkout (or a pool) while this thread holds it.
        self._lock = threading.RLock()
        self.counts = dict.fromkeys((*EVENTS, TIMEOUT, RECLAIMED, POOL), 0)
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
            entry = self._outstanding.pop(id(record), None)
            if entry is None:
                # Not the return of a counted checkout: when the database is down, SQLAlchemy
                # fires "checkin" for a connection whose reconnect failed inside the checkout
                # (_checkin_failed), before any "checkout" event; counting those drove
                # checkouts - checkins below zero ("-157 checked out") after a restart.
                return
            self.counts[event] += 1
            collected = entry[2] is not None and entry[2]() is None
            if self._watched and entry[0] in self._watched:
                self._fates[entry[0]] = RECLAIMED if collected else "returned"
            if not collected:
                return
            self.counts[RECLAIMED] += 1
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
            self._pool_mark = self.counts[POOL]
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
                **{fate: counts[fate] for fate in ("held", RECLAIMED, "returned")},
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
            self.counts[POOL] += 1
            number = self.counts[POOL]
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
            made_count = self.counts[POOL] - (mark or 0) if mark is not None else 0
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
