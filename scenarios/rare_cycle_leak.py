"""A rare leak under mixed traffic: one request in 20 fails before ``session.close()``.

Expected verdict: LEAKED, awaiting garbage collection, judged on a weighted
mix with a busy read route. The write route opens its own ``Session``, which
sits in a reference cycle (a request context kept in ``session.info``
points back at it, as audit and unit-of-work helpers do), runs its query and
closes the session at the end. One request in 20 fails first (an upstream
call raising), so ``close()`` is skipped: nothing references the session
any more, but only the cyclic garbage collector can free it and return its
connection. The read route allocates enough to set the collector off many
times a second, so under this mix every leaked connection is back before
the settle, and PostgreSQL and the pool show nothing left. It is a leak all
the same (on a quiet server the collector may not run for minutes), and the
probe sees each checkout the collector ended, with the line that took it.

Fixed twin: ``try-finally`` (close in ``finally``, or ``with Session(...)``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import text
from sqlmodel import Session

from ._app import COUNT_COMPANIES, build_app, engine

# Every FAILURE_EVERY-th write fails before its session is closed.
FAILURE_EVERY = 20
READ_ROWS = text("SELECT id, company_name, timezone FROM company ORDER BY id LIMIT 50")
_writes = itertools.count(1)


class RequestContext:
    """Per-request state a helper keeps in ``session.info``; it points back at the session."""

    def __init__(self, session: Session) -> None:
        self.session = session


def upstream_call(number: int) -> None:
    if number % FAILURE_EVERY == 0:
        raise RuntimeError("the upstream service failed")


def get_db() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


app = build_app(get_db, title="rare-cycle-leak")


@app.post("/read")
def read_companies(db: Annotated[Session, Depends(get_db)]) -> list[dict[str, Any]]:
    """The busy route of the mix: a read whose objects keep the collector running."""
    return [dict(row._mapping) for row in db.execute(READ_ROWS)]


@app.post("/write")
def write_rarely_failing() -> dict[str, Any]:
    session = Session(engine)
    session.info["context"] = RequestContext(session)  # the cycle: only the collector frees it
    total = session.execute(COUNT_COMPANIES).scalar_one()
    upstream_call(next(_writes))  # the leak: raises before close() once in FAILURE_EVERY
    session.close()
    return {"total": total}
