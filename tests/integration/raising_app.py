"""A FastAPI app whose route raises, for the driver's tests of unanswered requests.

Starlette's ServerErrorMiddleware sends the 500 and re-raises; uvicorn then
closes the connection, as it does for a real app's unhandled exception.
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.post("/error")
def error() -> None:
    raise RuntimeError("this route always fails")
