"""Drive concurrent HTTP requests at one endpoint with httpx, closed or open loop.

One ``httpx.AsyncClient`` serves every worker, with leakbench's own
transport behind it (:mod:`leakbench.load.transport`): httpcore's pool
serialises concurrent requests on its lock (httpx issue 3215) and spends
several times the app's CPU per request, which on a small machine is taken
from the app under test. Every worker sends the same pre-built
``httpx.Request``, encoded once.

Closed loop (the default), each worker sends its next request as soon as
the last is answered. Open loop (``rate``), requests are due at a fixed
pace, shared by ``concurrency`` connections, and latency counts from when
each was due: a stall shows in the percentiles instead of being hidden by
requests that were never sent.

Every loop is bounded by a deadline and, optionally, a request budget, so a
run always stops by itself: no new request starts after the deadline and
in-flight ones end within the request timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from leakbench import __version__
from leakbench.config import Endpoint
from leakbench.load.histogram import LatencyHistogram
from leakbench.load.limits import ensure_open_files
from leakbench.load.transport import LoadTransport, ServerDisconnected
from leakbench.results import LoadStats
from leakbench.system import shutdown

# After a refused or reset connection a worker waits this long before it
# retries, so a dead target does not turn the driver into a busy loop.
_ERROR_BACKOFF_SECONDS = 0.01
_USER_AGENT = f"leakbench/{__version__}"
_DRAINED = httpx.ByteStream(b"")
_NO_AUTH = httpx.Auth()


# How often the driver looks whether the user asked the run to stop.
_STOP_POLL_SECONDS = 0.05


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """One row's load: where, what, how hard, how long."""

    base_url: str
    endpoint: Endpoint
    concurrency: int
    duration: float
    requests: int | None = None
    request_timeout: float = 10.0
    body: bytes = b""
    # Requests per second for an open-loop load; None: closed loop, as fast as answered.
    rate: float | None = None


@dataclass(slots=True)
class LoadProgress:
    """Live counters, read by the live view while the load runs."""

    sent: int = 0
    completed: int = 0
    transport_errors: int = 0
    timeouts: int = 0
    server_errors: int = 0
    disconnects: int = 0
    started_at: float = 0.0
    status_counts: Counter[int] = field(default_factory=Counter)
    # Set when another tool sends the load (watch mode): these counters then stay at 0.
    load_tool: str | None = None


class _Budget:
    """The shared stop condition and pace: a deadline, and optionally a count and a rate.

    :meth:`take` gives the time (``perf_counter``) the next request is meant to
    start, or None once the load is over. Closed loop (no rate): now, so each
    worker sends as soon as its previous request is answered. Open loop: one
    slot every 1/rate s from the start, answered or not, so a stalled target
    shows as latency measured from the slot rather than as requests never sent
    (no coordinated omission).
    """

    __slots__ = ("deadline", "interval", "next_slot", "remaining")

    def __init__(self, started: float, plan: LoadPlan) -> None:
        self.deadline = started + plan.duration
        self.remaining = plan.requests
        self.interval = 1.0 / plan.rate if plan.rate else 0.0
        self.next_slot = started

    def take(self) -> float | None:
        if self.interval:
            slot = self.next_slot
            self.next_slot = slot + self.interval
        else:
            slot = time.perf_counter()
        if slot >= self.deadline or shutdown.stop_requested():
            return None
        if self.remaining is not None:
            if self.remaining <= 0:
                return None
            self.remaining -= 1
        return slot


class _NoCookies(httpx.Cookies):
    """Keeps no cookie: each worker replays one pre-built request, which carries none.

    httpx's cookie extraction builds urllib request and message objects for
    every response, about a fifth of the driver's CPU; a load driver has no
    use for them.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        return


class LoadClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` over :class:`LoadTransport` that keeps no cookies."""

    _NO_COOKIES = _NoCookies()

    def __init__(self, request_timeout: float) -> None:
        super().__init__(
            transport=LoadTransport(),
            timeout=httpx.Timeout(request_timeout),
            follow_redirects=False,
            trust_env=False,
        )

    @property
    def cookies(self) -> httpx.Cookies:
        return self._NO_COOKIES

    @cookies.setter
    def cookies(self, _: object) -> None:
        return


def build_request(plan: LoadPlan) -> httpx.Request:
    """The one request every worker sends: minimal headers, the body encoded once."""
    headers = {"user-agent": _USER_AGENT}
    if plan.body:
        headers["content-type"] = "application/json"
    return httpx.Request(
        plan.endpoint.method,
        plan.base_url + plan.endpoint.path,
        content=plan.body or None,
        headers=headers,
        extensions={"timeout": httpx.Timeout(plan.request_timeout).as_dict()},
    )


async def _worker(
    client: httpx.AsyncClient,
    request: httpx.Request,
    budget: _Budget,
    histogram: LatencyHistogram,
    progress: LoadProgress,
) -> None:
    send, clock, record = client.send, time.perf_counter, histogram.record
    while (started := budget.take()) is not None:
        delay = started - clock()
        if delay > 0:  # open loop: wait for this request's slot
            await asyncio.sleep(delay)
        progress.sent += 1
        try:
            # stream=True: the transport has already read the body whole; httpx's
            # decoding layers would only copy it. An explicit (empty) Auth spares
            # httpx from parsing the URL for credentials on every request.
            response = await send(request, stream=True, auth=_NO_AUTH)
        except ServerDisconnected:
            progress.disconnects += 1
            progress.completed += 1
            continue
        except httpx.TimeoutException:
            progress.timeouts += 1
        except httpx.HTTPError:
            progress.transport_errors += 1
            record(clock() - started)
            progress.completed += 1
            await asyncio.sleep(_ERROR_BACKOFF_SECONDS)
            continue
        else:
            await response.aclose()
            # httpx links a response and its stream both ways; unlinking lets the
            # pair be freed now instead of piling up (5+ MB) until a full collection.
            response.stream = _DRAINED
            status = response.status_code
            progress.status_counts[status] += 1
            if status >= 500:
                progress.server_errors += 1
        record(clock() - started)
        progress.completed += 1


def _cpu_wait() -> float:
    """Seconds this thread has waited, ready to run, for a CPU (0 where Linux does not say)."""
    try:
        with Path("/proc/thread-self/schedstat").open() as stat:
            return int(stat.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


async def _cancel_on_stop(workers: Sequence[asyncio.Future[None]]) -> None:
    """Cancel in-flight requests as soon as the user asks the run to stop.

    Ctrl-C does not raise inside the event loop (see shutdown.deferred_interrupts):
    uvloop would swallow an exception raised in a transport callback.
    """
    while not shutdown.stop_requested():
        await asyncio.sleep(_STOP_POLL_SECONDS)
    for worker in workers:
        worker.cancel()


async def drive(
    plan: LoadPlan,
    progress: LoadProgress | None = None,
    histogram: LatencyHistogram | None = None,
) -> LoadStats:
    """Run the plan to its end and return what happened.

    ``histogram`` receives every latency, for a caller that merges several
    drivers' (:mod:`leakbench.load.processes`).
    """
    progress = progress if progress is not None else LoadProgress()
    histogram = histogram if histogram is not None else LatencyHistogram()
    request = build_request(plan)
    async with LoadClient(plan.request_timeout) as client:
        cpu_started, wait_started = time.thread_time(), _cpu_wait()
        progress.started_at = time.monotonic()
        started = time.perf_counter()
        budget = _Budget(started, plan)
        workers = [
            asyncio.ensure_future(_worker(client, request, budget, histogram, progress))
            for _ in range(plan.concurrency)
        ]
        watcher = asyncio.ensure_future(_cancel_on_stop(workers))
        try:
            await asyncio.gather(*workers, return_exceptions=True)
        finally:
            watcher.cancel()
        elapsed = time.perf_counter() - started
        cpu, cpu_wait = time.thread_time() - cpu_started, _cpu_wait() - wait_started
    return LoadStats(
        sent=progress.sent,
        status_counts=tuple(sorted(progress.status_counts.items())),
        transport_errors=progress.transport_errors,
        timeouts=progress.timeouts,
        elapsed_seconds=round(elapsed, 3),
        latency=histogram.summary(),
        concurrency=plan.concurrency,
        driver_cpu_seconds=round(cpu, 3),
        disconnects=progress.disconnects,
        driver_cpu_wait_seconds=round(cpu_wait, 3),
    )


def run_load(
    plan: LoadPlan,
    progress: LoadProgress | None = None,
    histogram: LatencyHistogram | None = None,
) -> LoadStats:
    """Run :func:`drive` on a fresh event loop (uvloop when it is installed)."""
    ensure_open_files(plan.concurrency)
    with shutdown.deferred_interrupts():
        return _run_loop(plan, progress, histogram)


def _run_loop(
    plan: LoadPlan, progress: LoadProgress | None, histogram: LatencyHistogram | None
) -> LoadStats:
    try:
        import uvloop  # noqa: PLC0415 - optional speed-up, imported only when driving
    except ImportError:
        return asyncio.run(drive(plan, progress, histogram))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(drive(plan, progress, histogram))
