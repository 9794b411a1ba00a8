"""The request's session handed to a ``BackgroundTasks`` job (seed 002's warning).

Expected verdict: CLEAN on FastAPI < 0.106 and >= 0.118, LEAKED on 0.106 to
0.117 (measured with ``leakbench matrix`` on 0.105.0, 0.106.0, 0.117.1,
0.118.0, 0.121.0 and 0.165.0: docs/leaks.md). A
request-scoped ``yield`` dependency (the default scope) ends after the
response *and its background tasks*: Starlette's ``Response.__call__``
awaits the tasks, and FastAPI closes the request's exit stack only after
that. So the job still finds the session open, and the dependency's
``async with`` closes it afterwards. On FastAPI 0.106 to 0.117 the
dependency ended before the response, and the job reopens a connection
nobody closes, as ``background-function-scope`` still shows. (The request
still holds its pooled connection for as long as the job runs.)

Fixed twin: ``background-fresh-session``.
"""

from __future__ import annotations

from ._app import build_async_app, get_async_db, read_total

# read_total(session) reads through the request's session and does not commit.
app = build_async_app(get_async_db, title="background-request-session", background=read_total)
