"""Apps leakbench has never seen, written to disk by the tests at run time.

Nothing here is imported by leakbench: each test writes these sources into
its own temporary folder and points ``--app`` or ``--url`` at them, the way
a user would point leakbench at their service.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

# The app does not create its table: --setup-sql (or the test) does.
ORDERS_SCHEMA = "CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL);\n"

# A file-path app that imports a sibling module from its own folder, reads
# its database from ORDERS_DB (a postgresql+psycopg:// URL) and keeps every
# request's session in a module-level list: a leak held by a live reference.
_LEAKY_DB = """
    import os

    from sqlalchemy import create_engine

    engine = create_engine(os.environ["ORDERS_DB"], pool_size=5, max_overflow=0, pool_timeout=1)
"""
_LEAKY_MAIN = """
    from fastapi import FastAPI
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from orders_db import engine

    app = FastAPI()
    OPEN_SESSIONS = []


    @app.post("/orders")
    def create_order() -> dict[str, int]:
        session = Session(engine)
        session.execute(text("INSERT INTO orders (item) VALUES ('book')"))
        session.commit()
        total = session.execute(text("SELECT count(*) FROM orders")).scalar_one()
        OPEN_SESSIONS.append(session)  # never closed
        return {"total": total}
"""

# A package app (``shop.main:app``) that closes every session. /slow holds
# a connection of a one-connection pool that gives up after 0.1 s, so under
# load its checkouts time out: pool exhaustion, not a leak.
_SHOP_DB = """
    import os

    from sqlalchemy import create_engine

    engine = create_engine(os.environ["SHOP_URL"], pool_size=2, max_overflow=1, pool_timeout=5)
    slow_engine = create_engine(
        os.environ["SHOP_URL"], pool_size=1, max_overflow=0, pool_timeout=0.1
    )
"""
_SHOP_MAIN = """
    from fastapi import FastAPI
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from shop.db import engine, slow_engine

    app = FastAPI()


    @app.post("/orders")
    def create_order() -> dict[str, int]:
        with Session(engine) as session:
            session.execute(text("INSERT INTO orders (item) VALUES ('pen')"))
            session.commit()
            return {"total": session.execute(text("SELECT count(*) FROM orders")).scalar_one()}


    @app.post("/slow")
    def slow_report() -> dict[str, bool]:
        with Session(slow_engine) as session:
            session.execute(text("SELECT pg_sleep(0.2)"))
        return {"ok": True}
"""


# Issue 9's first app: each request takes a Connection, commits an INSERT, keeps
# the Connection in a module-level list and raises. The kept connections are
# checked out of the pool for good but idle (no transaction after the commit),
# so pg_stat_activity shows nothing unusual: only the pool's count sees them.
_KEPT_AFTER_COMMIT = """
    import os

    from fastapi import FastAPI
    from sqlalchemy import create_engine, text

    engine = create_engine(
        os.environ["ORDERS_DB"], pool_size=2, max_overflow=10, pool_timeout=2
    )
    app = FastAPI()
    KEPT = []


    @app.post("/orders")
    def create_order() -> dict[str, bool]:
        conn = engine.connect()
        conn.execute(text("INSERT INTO orders (item) VALUES ('lamp')"))
        conn.commit()
        KEPT.append(conn)  # kept for later, never closed
        raise RuntimeError("the order service is down")
"""

# Issue 9's second app: the async stack, a session per request closed by
# ``async with``, and a route that runs an INSERT and then answers 409. Every
# answer is a 4xx, yet every request ran SQL: a clean app. /items wants a "sku"
# that leakbench's default body lacks, so FastAPI answers 422 before the handler
# runs: nothing touches the database.
_CONFLICT_AFTER_SQL = """
    import os
    from collections.abc import AsyncIterator
    from typing import Annotated

    from fastapi import Depends, FastAPI, HTTPException
    from pydantic import BaseModel
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

    engine = create_async_engine(
        os.environ["ORDERS_DB"], pool_size=2, max_overflow=10, pool_timeout=2
    )
    Sessions = async_sessionmaker(engine, expire_on_commit=False)
    app = FastAPI()


    async def get_session() -> AsyncIterator[AsyncSession]:
        async with Sessions() as session:
            yield session


    class Item(BaseModel):
        sku: str


    @app.post("/orders")
    async def create_order(
        session: Annotated[AsyncSession, Depends(get_session)],
    ) -> dict[str, bool]:
        await session.execute(text("INSERT INTO orders (item) VALUES ('mug')"))
        raise HTTPException(status_code=409, detail="this order exists already")


    @app.post("/items")
    async def create_item(
        item: Item, session: Annotated[AsyncSession, Depends(get_session)]
    ) -> dict[str, str]:
        await session.execute(text("INSERT INTO orders (item) VALUES (:n)"), {"n": item.sku})
        await session.commit()
        return {"sku": item.sku}
"""


# A clean app with background work of its own: from the first order on, a thread
# checks a connection out every 0.4 s and holds it 0.2 s (a heartbeat, a queue
# poller). A look at the pool after the load has an even chance of seeing it out.
_HEARTBEAT = """
    import os
    import threading
    import time

    from fastapi import FastAPI
    from sqlalchemy import create_engine, text

    engine = create_engine(os.environ["ORDERS_DB"], pool_size=2, max_overflow=10)
    app = FastAPI()


    def heartbeat() -> None:
        while True:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                time.sleep(0.2)
            time.sleep(0.2)


    started = threading.Lock()


    @app.post("/orders")
    def create_order() -> dict[str, bool]:
        # The first order starts the heartbeat, so the baseline has nothing checked out.
        if started.acquire(blocking=False):
            threading.Thread(target=heartbeat, daemon=True).start()
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO orders (item) VALUES ('tea')"))
        return {"ok": True}
"""


def _write(path: Path, source: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source).lstrip())


def write_leaky_app(folder: Path) -> Path:
    """Write the leaking app; returns its main.py (for ``--app main.py:app``)."""
    _write(folder / "orders_db.py", _LEAKY_DB)
    _write(folder / "main.py", _LEAKY_MAIN)
    return folder / "main.py"


def write_shop_package(folder: Path) -> str:
    """Write the clean ``shop`` package under ``folder``; returns ``shop.main:app``."""
    _write(folder / "shop" / "__init__.py", "")
    _write(folder / "shop" / "db.py", _SHOP_DB)
    _write(folder / "shop" / "main.py", _SHOP_MAIN)
    return "shop.main:app"


def write_kept_after_commit_app(folder: Path) -> Path:
    """Write issue 9's leaking app (connections kept after commit); returns its main.py."""
    _write(folder / "main.py", _KEPT_AFTER_COMMIT)
    return folder / "main.py"


def write_conflict_after_sql_app(folder: Path) -> Path:
    """Write issue 9's clean async app (409 after an INSERT); returns its main.py."""
    _write(folder / "main.py", _CONFLICT_AFTER_SQL)
    return folder / "main.py"


def write_heartbeat_app(folder: Path) -> Path:
    """Write the clean app whose background thread checks connections out; returns main.py."""
    _write(folder / "main.py", _HEARTBEAT)
    return folder / "main.py"


def source_line(path: Path, needle: str) -> int:
    """The 1-based number of the first line of ``path`` holding ``needle``."""
    lines = path.read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if needle in line)


def write_schema(folder: Path) -> Path:
    path = folder / "schema.sql"
    _write(path, ORDERS_SCHEMA)
    return path
