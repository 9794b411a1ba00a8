"""Handlers cancelled when their client leaves, behind BaseHTTPMiddleware: asyncpg.

Expected verdict: CLEAN, with full reads and with ``--abort 50%``, which cancels the
handlers of the clients that leave (scenarios/_cancelled.py; the target's log counts them),
as measured on SQLAlchemy 2.1 and, with ``leakbench matrix --versions driver=asyncpg
--versions sqlalchemy=2.0.37,2.0.38``, before and after the fix of
sqlalchemy/sqlalchemy#12077 (2.0.38): CLEAN on both (see docs/leaks.md).

Twin: ``cancelled-psycopg`` (the same app on psycopg 3).
"""

from __future__ import annotations

from ._cancelled import build

app = build("asyncpg", "cancelled-asyncpg")
