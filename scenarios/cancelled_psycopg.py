"""Handlers cancelled when their client leaves, behind BaseHTTPMiddleware: psycopg 3 async.

Expected verdict: CLEAN, with full reads and with ``--abort 50%``, which cancels the
handlers of the clients that leave, as measured on SQLAlchemy 2.1 (see
scenarios/_cancelled.py and docs/leaks.md).

Twin: ``cancelled-asyncpg`` (the same app on asyncpg).
"""

from __future__ import annotations

from ._cancelled import build

app = build("psycopg", "cancelled-psycopg")
