"""Handlers cancelled behind BaseHTTPMiddleware when their client leaves: asyncpg.

Expected verdict: CLEAN, with full reads and with ``--abort 50%``, as
measured on SQLAlchemy 2.1, which has the fix of sqlalchemy/sqlalchemy#12077
(2.0.38); ``leakbench matrix --versions sqlalchemy=2.0.37,2.0.38`` shows the
before and after (see docs/leaks.md).

Twin: ``cancelled-psycopg`` (the same app on psycopg 3).
"""

from __future__ import annotations

from ._cancelled import build

app = build("asyncpg", "cancelled-asyncpg")
