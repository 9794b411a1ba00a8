"""The fix for background jobs: the job opens (and closes) a fresh session of its own.

Expected verdict: CLEAN, whatever the dependency's scope: the job never
touches the request's session, so it does not matter when that one ends.

Fixed twin of: ``background-request-session`` and ``background-function-scope``.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from ._app import AsyncSessionLocal, build_async_app, get_async_db, read_total


async def read_total_in_own_session(_request_session: AsyncSession) -> None:
    """The fix: leave the request's session alone; the job's own is closed when it ends."""
    async with AsyncSessionLocal() as session:
        await read_total(session)


app = build_async_app(
    get_async_db,
    title="background-fresh-session",
    scope="function",
    background=read_total_in_own_session,
)
