"""A stream that closes its session after the last chunk, with no try/finally.

Expected verdict: CLEAN with full reads, LEAKED when clients leave mid-stream
(``--abort 50%``), awaiting GC. The generator of a ``StreamingResponse``
opens a Session, reads between chunks, and calls ``session.close()`` after
the loop. A client that reads the stream to its end runs that line. One
that leaves makes Starlette stop iterating at a ``yield``: the generator is
never resumed, so ``close()`` never runs, and the Session's connection stays
idle in transaction until the generator is collected. The generator sits in
the reference cycle of the cancelled task's exception and traceback, so only
the cyclic garbage collector frees it (sqlalchemy/sqlalchemy#11125 reports the
same on an async stream its client ended; fastapi/fastapi#11143 streams using
a session).

Fixed twin: ``stream-closed-finally`` (the same generator with try/finally).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from fastapi.responses import StreamingResponse
from sqlmodel import Session

from ._app import COUNT_COMPANIES, bare_app, engine

CHUNKS = 4
# A pause between chunks, as a feed that waits for its next event does.
CHUNK_PAUSE_SECONDS = 0.02

app = bare_app("stream-closed-midway")


def events() -> Iterator[str]:
    session = Session(engine)
    for number in range(CHUNKS):
        total = session.exec(COUNT_COMPANIES).one()[0]  # type: ignore[call-overload]  # text()
        yield f"id: {number}\ndata: {total}\n\n"
        time.sleep(CHUNK_PAUSE_SECONDS)
    session.close()  # the leak: skipped when the client leaves mid-stream


@app.get("/stream")
def stream() -> StreamingResponse:
    return StreamingResponse(events(), media_type="text/event-stream")
