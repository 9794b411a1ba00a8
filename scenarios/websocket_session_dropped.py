"""A WebSocket handler that opens a session per message and closes it when the client says bye.

Expected verdict: CLEAN when each client closes cleanly; LEAKED when clients
drop their connection (no close frame) mid-answer. For each message, the
handler opens a session and sends three updates read through it, then
closes the session. It catches ``WebSocketDisconnect`` around the wait for
the next message only: a client that drops while the updates are being sent
makes a send fail with another exception, the handler ends there, and the
session is left open, idle in transaction, until the garbage collector finds
it (the shape of the WebSocket reports next to fastapi/fastapi#11143).

Fixed twin: none shipped (the fix is ``async with AsyncSessionLocal()``).
"""

from __future__ import annotations

import asyncio

from fastapi import WebSocket, WebSocketDisconnect

from ._app import COUNT_COMPANIES, AsyncSessionLocal, async_engine, bare_app

UPDATES = 3
UPDATE_PAUSE_SECONDS = 0.005

app = bare_app("websocket-session-dropped", pool_engine=async_engine)


@app.websocket("/ws")
async def updates(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        try:
            await websocket.receive_text()
        except WebSocketDisconnect:
            return
        session = AsyncSessionLocal()
        for _ in range(UPDATES):
            total = (await session.execute(COUNT_COMPANIES)).scalar_one()
            await websocket.send_text(str(total))
            await asyncio.sleep(UPDATE_PAUSE_SECONDS)
        await session.close()  # the leak: skipped when a send fails after a drop
