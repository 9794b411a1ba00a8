"""Seed 002's async stack: ``async with AsyncSessionLocal() as session: yield session``.

Expected verdict: CLEAN. ``create_async_engine`` + ``async_sessionmaker(
expire_on_commit=False)`` with a request-scoped dependency: FastAPI resumes
the async generator after the response, ``async with`` closes the session
and its connection goes back to the pool.

Fixed twin of: ``async-session-unclosed`` and ``endless-task-session``.
"""

from __future__ import annotations

from ._app import build_async_app, get_async_db

# get_async_db is: async with AsyncSessionLocal() as session: yield session
app = build_async_app(get_async_db, title="async-session", read_after_commit=True)
