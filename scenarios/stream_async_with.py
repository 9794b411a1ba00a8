"""An async stream whose session is opened in ``async with``: cancelled, it still closes.

Expected verdict: CLEAN, with full reads and with clients that leave
mid-stream (``--abort 50%``). The async generator of a ``StreamingResponse``
reads between chunks inside ``async with AsyncSessionLocal() as session``.
When the client leaves, Starlette stops the response: the generator is
cancelled at its ``await`` or closed at its ``yield``, and either way the
``async with`` block exits, so the session closes and its connection goes
back to the pool.

Fixed twin of: ``stream-closed-midway`` (the same stream, closed after the
last chunk with no try/finally).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse

from ._app import COUNT_COMPANIES, AsyncSessionLocal, async_engine, bare_app

CHUNKS = 4
# A pause between chunks, as a feed that waits for its next event does.
CHUNK_PAUSE_SECONDS = 0.02

app = bare_app("stream-async-with", pool_engine=async_engine)


async def events() -> AsyncIterator[str]:
    async with AsyncSessionLocal() as session:
        for number in range(CHUNKS):
            total = (await session.execute(COUNT_COMPANIES)).scalar_one()
            yield f"id: {number}\ndata: {total}\n\n"
            await asyncio.sleep(CHUNK_PAUSE_SECONDS)


@app.get("/stream")
async def stream() -> StreamingResponse:
    return StreamingResponse(events(), media_type="text/event-stream")
