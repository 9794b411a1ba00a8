"""A leak that lasts until the garbage collector runs: the session is never closed.

Expected verdict: LEAKED, awaiting garbage collection. Nothing keeps the
session once the request is over, yet reference counting cannot free it: a
``Session`` with an open transaction points at its ``SessionTransaction``,
which points back at the session (and the ``Connection`` and its
``RootTransaction`` point at each other too). Only the cyclic garbage
collector breaks such cycles; until it runs, the transaction the
read-after-commit began keeps its connection idle in transaction. Under load
the collector runs often, so the damage looks small; a quiet process may not
collect for minutes, and leakbench's forced ``gc.collect()`` releases them.

Fixed twin: ``try-finally``.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlmodel import Session

from ._app import build_app, engine


def get_db() -> Iterator[Session]:
    yield Session(engine)  # the leak: no close(), no `with`


app = build_app(get_db, title="never-closed-session", read_after_commit=True)
