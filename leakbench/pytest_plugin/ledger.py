"""Every SQLAlchemy checkout of the test process, by owner: the engine of ``pytest --leakbench``.

Like the in-target probe of ``leakbench run`` (:mod:`leakbench._targets.probe`),
the listeners sit on the ``Pool`` class, so every pool the process has or will
have is covered, engines made at import time by the suite's conftest included,
without the suite naming one. Each checkout remembers the line of the project's
code that took it (:mod:`leakbench._targets.sites`, the probe's mechanism) and its
*owner*: whatever the plugin says is running when it happens (a test, or the
set-up of a fixture of wider scope). A checkin forgets it. What an owner still
has checked out when it is over is what it left behind.

Imported only when ``--leakbench`` is on, so pytest start-up stays cheap otherwise.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool

from leakbench._targets.sites import Site, caller_site

_POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class Checkout:
    """A connection still checked out: where it was taken, and whether it is in a transaction."""

    number: int
    site: Site
    in_transaction: bool | None


def in_transaction(dbapi_connection: object) -> bool | None:
    """Whether the driver's connection is inside a transaction; None when the driver is unknown.

    Read from the driver itself, not from PostgreSQL: no query, no second
    connection. A connection back in its pool has been rolled back by the pool's
    reset, so a transaction left open is always on a connection still checked out.
    """
    # SQLAlchemy's async adapters keep the driver's own connection in ``_connection``.
    raw: Any = getattr(dbapi_connection, "_connection", dbapi_connection)
    info = getattr(raw, "info", None)
    status = getattr(info, "transaction_status", None)
    if status is not None:  # psycopg 3: IDLE=0, ACTIVE=1, INTRANS=2, INERROR=3
        return int(status) in (1, 2, 3)
    probe = getattr(raw, "get_transaction_status", None)  # psycopg2, same numbers
    if callable(probe):
        return int(probe()) in (1, 2, 3)
    probe = getattr(raw, "is_in_transaction", None)  # asyncpg
    if callable(probe):
        return bool(probe())
    flag = getattr(raw, "in_transaction", None)  # sqlite3
    return flag if isinstance(flag, bool) else None


def records_held_by(value: object) -> set[int]:
    """The pool records of the connections a fixture's value holds now: a ``Session``, a
    ``Connection``, or their async twins; nothing for any other value.

    Read without making a connection: a Session's current transaction's connections
    (SQLAlchemy keeps them in ``SessionTransaction._connections``), a Connection's
    checked-out DBAPI connection (``_dbapi_connection``); both private, read defensively.
    """
    value = getattr(value, "sync_session", None) or getattr(value, "sync_connection", None) or value
    connections: list[object] = []
    if isinstance(value, Session):
        transaction = value.get_transaction()
        entries = getattr(transaction, "_connections", {}) if transaction is not None else {}
        connections += [entry[0] for entry in entries.values() if entry]
    elif isinstance(value, Connection):
        connections.append(value)
    held = set()
    for connection in connections:
        fairy = getattr(connection, "_dbapi_connection", None)
        record = getattr(fairy, "_connection_record", None)
        if record is not None:
            held.add(id(record))
    return held


class CheckoutLedger:
    """Thread-safe: the app under test may check connections out from its own threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._number = 0
        # id(connection record) -> (number, site, owner, the driver's connection)
        self._out: dict[int, tuple[int, Site, Hashable, object]] = {}
        self.owner: Hashable | None = None

    def install(self) -> None:
        event.listen(Pool, "checkout", self._on_checkout)
        event.listen(Pool, "checkin", self._on_checkin)
        event.listen(Pool, "detach", self._on_checkin)  # leaves the pool for good, no checkin

    def uninstall(self) -> None:
        event.remove(Pool, "checkout", self._on_checkout)
        event.remove(Pool, "checkin", self._on_checkin)
        event.remove(Pool, "detach", self._on_checkin)

    def _on_checkout(self, dbapi_connection: object, record: object, _proxy: object) -> None:
        owner = self.owner
        if owner is None:  # collection, import time: no test or fixture to answer for it
            return
        site = caller_site(2)
        with self._lock:
            self._number += 1
            self._out[id(record)] = (self._number, site, owner, dbapi_connection)

    def _on_checkin(self, _dbapi_connection: object, record: object) -> None:
        with self._lock:
            self._out.pop(id(record), None)

    def owners(self) -> set[Hashable]:
        with self._lock:
            return {owner for _, _, owner, _ in self._out.values()}

    def outstanding(self, owner: Hashable) -> list[Checkout]:
        with self._lock:
            held = [(n, site, conn) for n, site, who, conn in self._out.values() if who == owner]
        return [Checkout(n, site, in_transaction(conn)) for n, site, conn in sorted(held)]

    def settled(self, owner: Hashable, settle: float) -> list[Checkout]:
        """What ``owner`` still has out once ``settle`` seconds have passed (at once when none):
        an app's thread may return its connection just after the response."""
        deadline = time.monotonic() + settle
        while True:
            held = self.outstanding(owner)
            if not held or time.monotonic() >= deadline:
                return held
            time.sleep(_POLL_SECONDS)

    def transfer(self, records: set[int], old: Hashable, new: Hashable) -> None:
        """Give ``new`` the checkouts of ``old`` whose records are in ``records``."""
        with self._lock:
            for key, (number, site, owner, conn) in list(self._out.items()):
                if owner == old and key in records:
                    self._out[key] = (number, site, new, conn)

    def forget(self, owner: Hashable) -> None:
        """Stop answering for ``owner``'s connections (reported, or allowed to stay out)."""
        with self._lock:
            for key in [k for k, (_, _, who, _) in self._out.items() if who == owner]:
                del self._out[key]


def describe(held: list[Checkout]) -> str:
    """``2 connection(s) checked out, 1 in an open transaction (taken at app/x.py:3 in f)``."""
    in_txn = sum(1 for checkout in held if checkout.in_transaction)
    places = ", ".join(
        f"{site} ({count}x)" if count > 1 else str(site)
        for site, count in Counter(checkout.site for checkout in held).most_common(3)
    )
    transactions = f", {in_txn} in an open transaction" if in_txn else ""
    return f"{len(held)} connection(s) still checked out{transactions} (taken at {places})"
