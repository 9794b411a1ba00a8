"""Apps on psycopg_pool's own ConnectionPool (no SQLAlchemy), written from first principles.

The leaking one takes a connection with ``pool.getconn()`` and gives it back with
``pool.putconn()`` on its success path only: every third order fails in PostgreSQL
(a division by zero), and its error path answers 409 without giving the connection
back. Nothing keeps a reference to it after the request: the garbage collector
closes it, PostgreSQL ends its session, and the pool keeps counting it as checked out
(``pool_size - pool_available``) for good. The fixed twin gives it back in ``finally``.
"""

from __future__ import annotations

from pathlib import Path

_APP = """
import itertools
import os

import psycopg
from fastapi import FastAPI, HTTPException
from psycopg_pool import ConnectionPool

# ORDERS_DB: libpq's URL of the target's database (--app-env ORDERS_DB={url}).
pool = ConnectionPool(os.environ["ORDERS_DB"], min_size=2, max_size=6, timeout=2, open=True)
numbers = itertools.count(1)
app = FastAPI()


@app.post("/orders")
def create_order() -> dict[str, int]:
    number = next(numbers)
    conn = pool.getconn()
    try:
        conn.execute("INSERT INTO orders (item) VALUES (%s)", (f"order {number}",))
        # Every third order fails in PostgreSQL: division by zero.
        conn.execute("SELECT 1 / (%s %% 3)", (number,))
        conn.commit()
    except psycopg.DataError:
        raise HTTPException(409, "this order cannot be placed"){ERROR_PATH}{SUCCESS_PATH}
    return {"number": number}
"""
# The leak: the error path never gives the connection back.
_LEAKING = _APP.replace("{ERROR_PATH}", "").replace("{SUCCESS_PATH}", "\n    pool.putconn(conn)")
# The fix: the connection goes back on every path.
_FIXED = _APP.replace("{ERROR_PATH}", "\n    finally:\n        pool.putconn(conn)").replace(
    "{SUCCESS_PATH}", ""
)


def write_getconn_app(folder: Path, *, fixed: bool) -> Path:
    """Write the leaking app (or its fixed twin); returns its main.py."""
    folder.mkdir(parents=True, exist_ok=True)
    main = folder / "main.py"
    main.write_text(_FIXED if fixed else _LEAKING)
    return main
