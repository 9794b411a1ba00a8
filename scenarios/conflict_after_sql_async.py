"""The 409-after-INSERT trap on the async stack (issue 9's second app).

Expected verdict: CLEAN. ``async with AsyncSessionLocal() as session:
yield session``; the /conflict route awaits an INSERT and raises
``HTTPException(409)``. Under load many connections are idle in
transaction while requests are in flight; after the settle none is, and
the pool has every connection back. Judged, not set aside: the requests ran
SQL, whatever status they returned.

Twin: ``conflict-after-sql``, the same route on the sync stack.
"""

from __future__ import annotations

from ._app import build_async_app, get_async_db

# get_async_db is: async with AsyncSessionLocal() as session: yield session
app = build_async_app(get_async_db, title="conflict-after-sql-async")
