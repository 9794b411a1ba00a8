"""Bounded concurrent requests at a user's ASGI app, for ``leak_check.drive()`` in tests.

Two ways to reach the app: in-process through ``httpx2.ASGITransport``
(fast, no sockets; like httpx2 it does not run the app's lifespan) or a real
uvicorn serving it on 127.0.0.1 from a thread of the test process, driven by
leakbench's own load driver. Either way the app shares the test's process,
so the engine the test watches is the one the app uses.

Every loop is bounded twice: by the request count and by ``timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json as json_module
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, cast

import httpx2

from leakbench._load.driver import LoadPlan, run_load
from leakbench._load.histogram import LatencyHistogram
from leakbench._results import LoadStats
from leakbench._settings import Endpoint
from leakbench.errors import TargetStartError, UsageError

MAX_REQUESTS = 100_000
MAX_CONCURRENCY = 1_000
ASGI_BASE_URL = "http://leakbench.test"
_UVICORN_START_SECONDS = 15.0
# In-flight requests get this long past the deadline before they count as timeouts.
_GRACE_SECONDS = 5.0

Server = Literal["asgi", "uvicorn"]
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class LoadRequest:
    """A validated ``drive()`` call."""

    app: Any
    endpoint: Endpoint
    requests: int
    concurrency: int
    body: bytes
    server: Server
    timeout: float

    @classmethod
    def build(  # noqa: PLR0917 - mirrors drive()'s arguments one for one
        cls,
        app: object,
        endpoint: str,
        requests: int,
        concurrency: int,
        json: object,
        server: str,
        timeout: float,
    ) -> LoadRequest:
        if not 1 <= requests <= MAX_REQUESTS:
            raise UsageError(f"requests={requests} is out of range; give 1 to {MAX_REQUESTS}.")
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise UsageError(
                f"concurrency={concurrency} is out of range; give 1 to {MAX_CONCURRENCY}."
            )
        if not 0 < timeout <= 3600:
            raise UsageError(f"timeout={timeout:g} is out of range; give 0 to 3600 seconds.")
        if server not in ("asgi", "uvicorn"):
            raise UsageError(f"server={server!r} is unknown; use 'asgi' or 'uvicorn'.")
        if isinstance(app, str) and server == "asgi":
            from uvicorn.importer import import_from_string  # noqa: PLC0415 - only for strings

            app = import_from_string(app)
        body = b"" if json is None else json_module.dumps(json).encode()
        return cls(
            app=app,
            endpoint=Endpoint.parse(endpoint),
            requests=requests,
            concurrency=min(concurrency, requests),
            body=body,
            server=cast(Server, server),
            timeout=timeout,
        )

    @property
    def headers(self) -> dict[str, str]:
        return {"content-type": "application/json"} if self.body else {}


def _in_own_thread(work: Callable[[], _T]) -> _T:
    """Run ``work`` on a thread of its own, so an async test's running loop is no obstacle."""
    outcome: list[_T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # handed back to the caller below
            failure.append(exc)

    thread = threading.Thread(target=target, name="leakbench-drive", daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


def run(load: LoadRequest) -> LoadStats:
    """Send the requests and return what came back."""
    if load.server == "uvicorn":
        return _in_own_thread(lambda: _drive_uvicorn(load))
    return _in_own_thread(lambda: asyncio.run(_drive_asgi(load)))


def _drive_uvicorn(load: LoadRequest) -> LoadStats:
    with _uvicorn_in_thread(load.app) as base_url:
        plan = LoadPlan(
            base_url=base_url,
            endpoint=load.endpoint,
            concurrency=load.concurrency,
            duration=load.timeout,
            requests=load.requests,
            request_timeout=load.timeout,
            body=load.body,
        )
        return run_load(plan)


@contextlib.contextmanager
def _uvicorn_in_thread(app: Any) -> Iterator[str]:
    import uvicorn  # noqa: PLC0415 - only for server="uvicorn"

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="leakbench-uvicorn", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + _UVICORN_START_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise TargetStartError(
                    f"uvicorn did not start the app within {_UVICORN_START_SECONDS:g} s; "
                    "its lifespan startup may have failed (see the captured log)."
                )
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=_GRACE_SECONDS)
        listener.close()


async def _drive_asgi(load: LoadRequest) -> LoadStats:
    histogram = LatencyHistogram()
    statuses: Counter[int] = Counter()
    failures = 0
    remaining = load.requests
    method, path = load.endpoint.method, load.endpoint.path
    started = time.monotonic()
    deadline = started + load.timeout
    # raise_app_exceptions=False: an unhandled error is a 500, as a server would answer.
    transport = httpx2.ASGITransport(app=load.app, raise_app_exceptions=False)
    async with httpx2.AsyncClient(transport=transport, base_url=ASGI_BASE_URL) as client:

        async def worker() -> None:
            nonlocal remaining, failures
            while remaining > 0 and time.monotonic() < deadline:
                remaining -= 1
                sent_at = time.perf_counter()
                try:
                    response = await client.request(
                        method, path, content=load.body or None, headers=load.headers
                    )
                except httpx2.HTTPError:
                    failures += 1
                else:
                    statuses[response.status_code] += 1
                histogram.record(time.perf_counter() - sent_at)

        tasks = [asyncio.create_task(worker()) for _ in range(load.concurrency)]
        done, stuck = await asyncio.wait(tasks, timeout=load.timeout + _GRACE_SECONDS)
        for task in stuck:
            task.cancel()
        await asyncio.gather(*stuck, return_exceptions=True)
        for task in done:
            task.result()  # a bug in the loop itself surfaces instead of vanishing
    return LoadStats(
        sent=load.requests - remaining,
        status_counts=tuple(sorted(statuses.items())),
        transport_errors=failures,
        timeouts=len(stuck),
        elapsed_seconds=round(time.monotonic() - started, 3),
        latency=histogram.summary(),
        concurrency=load.concurrency,
    )
