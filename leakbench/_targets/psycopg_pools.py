"""The probe's book of psycopg_pool's pools: the pools made, and their own figures.

An app may use psycopg's own pool (``psycopg_pool.ConnectionPool``,
``AsyncConnectionPool``, their ``Null`` variants) without SQLAlchemy. Those
pools have no events to listen to, but each keeps its own figures, read with
``get_stats()`` (never ``pop_stats()``, which resets the counters the app
may read): ``pool_size`` (the connections it counts as its own: in the pool,
out, being opened), ``pool_available`` (idle in it) and ``requests_waiting``
(callers queued for a connection), the same keys in psycopg_pool 3.1, 3.2 and
3.3. ``pool_size - pool_available`` is what the pool counts as checked out,
including a connection it lost for good: one handed to a waiter that had
been cancelled (psycopg/psycopg#509, psycopg_pool 3.1.6), or one the app
never gave back and the garbage collector closed. PostgreSQL no longer shows
either, so only this count does.

The probe gives ``psycopg_pool.base.BasePool`` (the base of every pool class
in 3.1, 3.2 and 3.3) a ``__new__`` that remembers every pool, weakly, as it
does for SQLAlchemy's pools. Imports only the standard library (the probe
loads it into the app's process, see :mod:`leakbench._targets.probe`).
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

# get_stats() keys, the same in psycopg_pool 3.1, 3.2 and 3.3.
SIZE, AVAILABLE, WAITING, MAX = "pool_size", "pool_available", "requests_waiting", "pool_max"
# A pool's figures are read from the probe's thread while the app changes them: copying its
# counters can meet a dict changing size; a few tries, then the pool is skipped this once.
_READ_TRIES = 3


class PsycopgPools:
    """psycopg_pool pools made in this process, while they live, and their summed figures."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pools: dict[int, weakref.ref[Any]] = {}
        self.made = 0
        self.installed = False

    def track(self, pool: object) -> None:
        with self._lock:
            self.made += 1
            number = self.made
            self._pools[number] = weakref.ref(pool, lambda _ref: self._forget(number))

    def _forget(self, number: int) -> None:
        with self._lock:
            self._pools.pop(number, None)

    def live(self) -> list[Any]:
        """The pools still alive and not closed."""
        with self._lock:
            refs = list(self._pools.values())
        return [
            pool
            for pool in (ref() for ref in refs)
            if pool is not None and not getattr(pool, "closed", False)
        ]

    def figures(self) -> dict[str, int]:
        """The live pools' figures, summed: how many pools, their size, checked out, waiting."""
        pools = size = out = waiting = largest = 0
        for pool in self.live():
            stats = _stats(pool)
            if stats is None:
                continue
            pools += 1
            size += stats.get(SIZE, 0)
            out += max(0, stats.get(SIZE, 0) - stats.get(AVAILABLE, 0))
            waiting += stats.get(WAITING, 0)
            largest += stats.get(MAX, 0)
        return {
            "psycopg_pools": pools,
            "psycopg_size": size,
            "psycopg_checked_out": out,
            "psycopg_waiting": waiting,
            "psycopg_max": largest,
        }

    def kinds(self) -> list[dict[str, str]]:
        """The pool classes in use, for the report's drivers line: ``psycopg_pool 3.1.6 X``."""
        classes = sorted({type(pool).__name__ for pool in self.live()})
        if not classes:
            return []
        from importlib import metadata  # noqa: PLC0415 - only asked once per report

        def version(name: str) -> str:
            try:
                return metadata.version(name)
            except metadata.PackageNotFoundError:
                return "unknown"

        pool_version = version("psycopg-pool")
        return [
            {
                "driver": "psycopg",
                "version": version("psycopg"),
                "pool": f"psycopg_pool {pool_version} {name}",
            }
            for name in classes
        ]


def _stats(pool: Any) -> dict[str, int] | None:
    for _try in range(_READ_TRIES):
        try:
            stats = pool.get_stats()
        except RuntimeError:  # the app changed the counters while they were copied
            continue
        except Exception:  # a pool being closed may not answer; it is skipped
            return None
        return {k: v for k, v in stats.items() if isinstance(v, int)}
    return None


def install(pools: PsycopgPools) -> None:
    """Remember every psycopg_pool pool made from now on; nothing when it is not installed."""
    try:
        from psycopg_pool.base import BasePool  # noqa: PLC0415 - the app may not use it
    except ImportError:  # not installed, or psycopg finds no libpq: the app cannot use it
        return
    if getattr(BasePool.__new__, "leakbench_probe", False):
        return

    def __new__(cls: type[Any], *_args: Any, **_kwargs: Any) -> Any:
        pool = object.__new__(cls)
        pools.track(pool)
        return pool

    __new__.leakbench_probe = True  # type: ignore[attr-defined]  # marks the hook
    BasePool.__new__ = __new__  # type: ignore[method-assign]  # see the docstring
    pools.installed = True
