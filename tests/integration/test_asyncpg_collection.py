"""The forced garbage collection on asyncpg apps: real uvicorn targets (uvloop), real
PostgreSQL, SQLAlchemy's ``create_async_engine("postgresql+asyncpg://...")``.

A collection runs the finalizers of what it frees in the thread that runs it, and
SQLAlchemy terminates an asyncpg connection whose holder was collected from that
finalizer. Run in the probe's own thread, that touched uvloop from outside its loop:
the app died mid-collection, the collection never answered, and the leak's kind was
"unknown". The probe now runs it on the app's event loop: the kind is decided, for a
leak the collector reclaims and for one it cannot.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from leakbench._cli import app

runner = CliRunner()
LOAD = ["-c", "20", "-d", "2", "--settle", "2", "--request-timeout", "5", "--no-live"]
SCHEMA = "CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL);\n"

# The session is yielded, never closed: its session <-> transaction cycle keeps the
# connection checked out until the cyclic collector runs. The app's collector is off (a
# quiet server where it has not run yet), so only leakbench's forced collection reclaims
# them, and each reclaim is logged by SQLAlchemy with the name of the thread it ran in.
DROPPED_SESSIONS = """
    import gc
    import logging
    import os

    from fastapi import Depends, FastAPI
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

    gc.disable()
    logging.basicConfig(format="reclaim-log %(threadName)s: %(message)s")
    engine = create_async_engine(
        os.environ["ORDERS_DB"], pool_size=5, max_overflow=5, pool_timeout=1
    )
    Sessions = async_sessionmaker(engine, expire_on_commit=False)


    async def get_db():
        yield Sessions()  # never closed


    app = FastAPI()


    @app.post("/orders")
    async def create_order(db: AsyncSession = Depends(get_db)):
        await db.execute(text("INSERT INTO orders (item) VALUES ('book')"))
        await db.commit()
        return {"total": (await db.execute(text("SELECT count(*) FROM orders"))).scalar_one()}
"""
# Every request's session kept in a module-level list: no collection can free them.
KEPT_SESSIONS = """
    import os

    from fastapi import FastAPI
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    engine = create_async_engine(
        os.environ["ORDERS_DB"], pool_size=5, max_overflow=0, pool_timeout=1
    )
    Sessions = async_sessionmaker(engine, expire_on_commit=False)
    KEPT = []
    app = FastAPI()


    @app.post("/orders")
    async def create_order():
        db = Sessions()
        await db.execute(text("INSERT INTO orders (item) VALUES ('book')"))
        await db.commit()
        total = (await db.execute(text("SELECT count(*) FROM orders"))).scalar_one()
        KEPT.append(db)  # never closed
        return {"total": total}
"""


def _run(tmp_path: Path, source: str, dsn: str) -> tuple[int, str, dict[str, Any], str]:
    """Run the app's row; the exit code, the output, the report's row and the app's log."""
    main = tmp_path / "orders" / "main.py"
    main.parent.mkdir()
    main.write_text(textwrap.dedent(source))
    schema = tmp_path / "schema.sql"
    schema.write_text(SCHEMA)
    report = tmp_path / "run.json"
    reports = tmp_path / "reports"
    result = runner.invoke(
        app,
        [
            "run",
            "--report-dir", str(reports),
            "--app", f"{main}:app",
            "--endpoint", "POST /orders",
            "--app-env", "ORDERS_DB={url+asyncpg}",
            "--setup-sql", str(schema),
            "--dsn", dsn,
            "--json", str(report),
            *LOAD,
        ],
    )  # fmt: skip
    logs = sorted((reports / "logs").glob("*.log"))
    assert len(logs) == 1, (result.output, logs)
    row = json.loads(report.read_text())["rows"][0]
    return result.exit_code, " ".join(result.output.split()), row, logs[0].read_text()


def test_connections_the_collector_reclaims_are_awaiting_gc_on_asyncpg(
    embedded_dsn: str, tmp_path: Path
) -> None:
    code, text, row, log = _run(tmp_path, DROPPED_SESSIONS, embedded_dsn)
    assert code == 1, text
    assert "asyncpg" in text and "AsyncAdaptedQueuePool" in text
    # The pool ran dry: ten sessions dropped, every connection out until a collection.
    assert "the pool still has 10 checked out (0 at the baseline), 0 after the forced " in text
    assert "A forced garbage collection in the target released them." in text
    assert row["leak_kind"] == "awaiting_gc"
    assert "Fatal Python error" not in log
    # Each connection was terminated by SQLAlchemy's finalizer on the app's event loop
    # (uvicorn's main thread), never in the probe's thread.
    reclaims = re.findall(r"^reclaim-log (\S+): The garbage collector is trying", log, re.M)
    assert len(reclaims) == 10, log[-3000:]
    assert set(reclaims) == {"MainThread"}, reclaims


def test_connections_a_live_reference_holds_survive_the_collection_on_asyncpg(
    embedded_dsn: str, tmp_path: Path
) -> None:
    code, text, row, log = _run(tmp_path, KEPT_SESSIONS, embedded_dsn)
    assert code == 1, text
    assert "asyncpg" in text
    assert "the pool still has 5 checked out (0 at the baseline)" in text
    assert "They survived a forced garbage collection: a live reference holds them." in text
    assert row["leak_kind"] == "held_by_reference"
    assert "Fatal Python error" not in log
