"""The request's session handed to a background job, with ``Depends(get_db, scope="function")``.

Expected verdict: LEAKED, awaiting garbage collection. ``scope="function"``
(FastAPI 0.121+) ends the dependency when the route returns, before the
response and its background tasks, as every request-scoped dependency did
on FastAPI 0.106 to 0.117. The job then runs on a closed session; SQLAlchemy sessions are
reusable after ``close()``, so its read silently begins a new transaction
on a new connection, and nothing closes the session again. Once the job
is done only the session <-> transaction reference cycle keeps it, so the
connection stays idle in transaction until a cyclic garbage collection
(which, on the async stack, drops it: see ``async-session-unclosed``).

Fixed twin: ``background-fresh-session``.
"""

from __future__ import annotations

from ._app import build_async_app, get_async_db, read_total

app = build_async_app(
    get_async_db, title="background-function-scope", scope="function", background=read_total
)
