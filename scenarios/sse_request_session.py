"""An SSE stream that reads through the request's session: held for the whole stream.

Expected verdict: CLEAN, with full reads and with clients that leave
mid-stream (``--abort 50%``); a capacity finding while the streams are open.
The route's ``async with AsyncSessionLocal()`` dependency yields the session
and the event stream reads through it between events. Since FastAPI 0.118 a
``yield`` dependency's exit runs after the response is sent
(fastapi/fastapi#14099), so each open stream holds a pooled connection until
it ends or its client leaves: with more clients than the pool holds, the
others wait for a slot and time out (``Depends(scope="function")``, FastAPI
0.121, would release it before the stream). Once the streams are over, every
connection is back: no leak.
"""

# No ``from __future__ import annotations``: FastAPI must see the real Annotated objects.
import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from ._app import COUNT_COMPANIES, async_engine, bare_app, get_async_db

EVENTS = 5
EVENT_PAUSE_SECONDS = 0.02

app = bare_app("sse-request-session", pool_engine=async_engine)


async def events(session: AsyncSession) -> AsyncIterator[str]:
    for number in range(EVENTS):
        total = (await session.execute(COUNT_COMPANIES)).scalar_one()
        yield f"id: {number}\ndata: {total}\n\n"
        await asyncio.sleep(EVENT_PAUSE_SECONDS)


@app.get("/events")
async def feed(session: Annotated[AsyncSession, Depends(get_async_db)]) -> StreamingResponse:
    return StreamingResponse(events(session), media_type="text/event-stream")
