"""Drive concurrent HTTP requests at one endpoint, closed or open loop.

Requests are ``httpx2.Request`` objects (httpx2 is httpx's maintained
continuation), each fixed one built once (:mod:`leakbench._load.requests`),
sent by leakbench's own HTTP/1.1 transport (:mod:`leakbench._load.transport`).
Workers call the transport's ``fetch`` directly: httpcore's pool serialised
concurrent requests on its lock (httpx issue 3215) and httpx2's client layers
(auth and redirect flows, hooks, an ``httpx2.Response`` to build and close)
cost as much CPU as the transport itself, taken on a small machine from the
app under test.

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

import httpx2

from leakbench import __version__
from leakbench._load.histogram import LatencyHistogram
from leakbench._load.leaving import ClientLeft, RouteLeaving, leaving_for
from leakbench._load.limits import ensure_open_files
from leakbench._load.requests import RequestShape, RequestSource
from leakbench._load.transport import LoadTransport, ServerDisconnected
from leakbench._load.websocket import session, websocket_url
from leakbench._results import LoadStats, RouteStats
from leakbench._settings import Endpoint, defaults
from leakbench._settings.clients import (
    DEFAULT_WEBSOCKET,
    PERFECT_CLIENT,
    ClientBehaviour,
    WebSocketSpec,
)
from leakbench._settings.requests import JSON_TYPE, WS_METHOD, Route
from leakbench._system import shutdown

# After a refused or reset connection a worker waits this long before it
# retries, so a dead target does not turn the driver into a busy loop.
_ERROR_BACKOFF_SECONDS = 0.01
_USER_AGENT = f"leakbench/{__version__}"
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
    request_timeout: float = defaults.REQUEST_TIMEOUT
    body: bytes = b""
    # Requests per second for an open-loop load; None: closed loop, as fast as answered.
    rate: float | None = None
    # A weighted mix of routes instead of ``endpoint`` (leakbench._settings.requests.Route).
    routes: tuple[Route, ...] = ()
    # Sent with every request (values already read from the environment), and the body's type.
    headers: tuple[tuple[str, str], ...] = ()
    content_type: str = JSON_TYPE
    # {n} of this plan's first request and its step (see leakbench._load.requests.RequestShape).
    counter_start: int = 1
    counter_step: int = 1
    # Clients that leave early (--abort, --stream-read, --hold); a route's own win.
    client: ClientBehaviour = PERFECT_CLIENT
    # What a WS route's session sends and receives, and how it ends; a route's own wins.
    websocket: WebSocketSpec = DEFAULT_WEBSOCKET

    @property
    def all_routes(self) -> tuple[Route, ...]:
        return self.routes or (Route(self.endpoint.method, self.endpoint.path),)


@dataclass(slots=True)
class LoadProgress:
    """Live counters, read by the live view while the load runs."""

    sent: int = 0
    completed: int = 0
    # Completed with an answer from the server, whatever its status.
    answered: int = 0
    transport_errors: int = 0
    timeouts: int = 0
    server_errors: int = 0
    disconnects: int = 0
    # Requests whose client left before the answer (--abort), and streams left part way.
    aborted: int = 0
    streams_left: int = 0
    # Streamed answers open right now, and the most at once (the transport counts them).
    streams_open: int = 0
    streams_peak: int = 0
    started_at: float = 0.0
    status_counts: Counter[int] = field(default_factory=Counter)
    # A mix's counts per route: statuses, and failures under the key 0.
    route_counts: list[Counter[int]] = field(default_factory=list)
    # Set when another tool sends the load (watch mode): these counters then stay at 0.
    load_tool: str | None = None

    def answer(self, status: int, route_counts: Counter[int] | None) -> None:
        """A request the server answered with ``status`` (its route's counts, in a mix)."""
        self.status_counts[status] += 1
        if route_counts is not None:
            route_counts[status] += 1
        self.answered += 1
        if status >= 500:
            self.server_errors += 1

    def left(self, *, streaming: bool) -> None:
        """A request whose client left as asked: before the answer, or part way into a stream."""
        if streaming:
            self.streams_left += 1
        else:
            self.aborted += 1
        self.completed += 1


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


def request_source(plan: LoadPlan) -> RequestSource:
    """The row's requests: minimal headers plus the user's, each fixed body encoded once."""
    shape = RequestShape(
        base_url=plan.base_url,
        headers=plan.headers,
        default_body=plan.body,
        default_content_type=plan.content_type,
        timeout=plan.request_timeout,
        counter_start=plan.counter_start,
        counter_step=plan.counter_step,
    )
    return RequestSource(plan.all_routes, shape, _USER_AGENT)


@dataclass(frozen=True, slots=True)
class _Row:
    """What every worker of a row shares."""

    transport: LoadTransport
    source: RequestSource
    budget: _Budget
    histogram: LatencyHistogram
    progress: LoadProgress
    # One per route when clients leave early (--abort, --stream-read, --hold).
    leaving: list[RouteLeaving] | None = None
    # One per route: the WebSocket session of a WS route, None for an HTTP one.
    websockets: tuple[WebSocketSpec | None, ...] = ()
    request_timeout: float = defaults.REQUEST_TIMEOUT
    # One per route of a mix (empty for one route): each route's own latencies.
    route_histograms: list[LatencyHistogram] = field(default_factory=list)


async def _worker(row: _Row) -> None:  # noqa: PLR0912 - the per-request loop stays inline: a call per request costs
    fetch, clock, record = row.transport.fetch, time.perf_counter, row.histogram.record
    source, budget, progress, leaving = row.source, row.budget, row.progress, row.leaving
    fixed, per_route = source.fixed, progress.route_counts or None
    route_histograms = row.route_histograms
    index, request = 0, fixed
    leaver = None
    websockets = row.websockets if any(row.websockets) else None
    while (started := budget.take()) is not None:
        delay = started - clock()
        if delay > 0:  # open loop: wait for this request's slot
            await asyncio.sleep(delay)
        if fixed is None:
            index, request = source.next()
        assert request is not None
        progress.sent += 1
        leave = None
        if leaving is not None:
            leaver = leaving[index]
            leave = leaver.draw()
        try:
            if websockets is not None and (spec := websockets[index]) is not None:
                url = websocket_url(str(request.url))
                status = (await session(url, spec, row.request_timeout)).status_code
            else:
                status = (await fetch(request, leave)).status
        except ClientLeft as left:
            # As asked: neither an answer nor an error, and no latency of an answer.
            progress.left(streaming=left.streaming)
            continue
        except httpx2.HTTPError as error:
            if _failed(error, progress, per_route, index):
                record(clock() - started)
                if per_route is not None:
                    route_histograms[index].record(clock() - started)
            progress.completed += 1
            if not isinstance(error, ServerDisconnected | httpx2.TimeoutException):
                await asyncio.sleep(_ERROR_BACKOFF_SECONDS)
            continue
        progress.answer(status, per_route[index] if per_route else None)
        elapsed = clock() - started
        if leaver is not None:
            leaver.answered(elapsed)
        record(elapsed)
        if per_route is not None:
            route_histograms[index].record(elapsed)
        progress.completed += 1


def _failed(
    error: httpx2.HTTPError,
    progress: LoadProgress,
    per_route: list[Counter[int]] | None,
    index: int,
) -> bool:
    """Count a request that got no answer; True when its time counts in the latencies."""
    if per_route is not None:
        per_route[index][0] += 1
    if isinstance(error, ServerDisconnected):
        # Written on a connection the server was closing: never answered, never timed.
        progress.disconnects += 1
        return False
    if isinstance(error, httpx2.TimeoutException):
        progress.timeouts += 1
    else:
        progress.transport_errors += 1
    return True


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
    route_histograms: list[LatencyHistogram] | None = None,
) -> LoadStats:
    """Run the plan to its end and return what happened.

    ``histogram`` receives every latency, and ``route_histograms`` (one per route
    of a mix, filled in here) each route's, for a caller that merges several
    drivers' (:mod:`leakbench._load.processes`).
    """
    progress = progress if progress is not None else LoadProgress()
    histogram = histogram if histogram is not None else LatencyHistogram()
    route_histograms = route_histograms if route_histograms is not None else []
    source = request_source(plan)
    routes = plan.all_routes
    if len(routes) > 1:
        progress.route_counts = [Counter() for _ in routes]
        route_histograms[:] = [LatencyHistogram() for _ in routes]
    leaving = leaving_for(
        plan.client, tuple(route.client for route in routes), plan.request_timeout
    )
    websockets = tuple(
        (route.websocket or plan.websocket) if route.method == WS_METHOD else None
        for route in routes
    )
    async with LoadTransport(gauge=progress) as transport:
        cpu_started, wait_started = time.thread_time(), _cpu_wait()
        progress.started_at = time.monotonic()
        started = time.perf_counter()
        budget = _Budget(started, plan)
        # One row, shared by every worker: what they read, and the counters they add to.
        row = _Row(
            transport,
            source,
            budget,
            histogram,
            progress,
            leaving,
            websockets,
            plan.request_timeout,
            route_histograms,
        )
        workers = [asyncio.ensure_future(_worker(row)) for _ in range(plan.concurrency)]
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
        aborted=progress.aborted,
        streams_left=progress.streams_left,
        peak_open_streams=progress.streams_peak,
        driver_cpu_wait_seconds=round(cpu_wait, 3),
        routes=_route_stats(routes, progress, route_histograms),
    )


def _route_stats(
    routes: tuple[Route, ...], progress: LoadProgress, histograms: list[LatencyHistogram]
) -> tuple[RouteStats, ...]:
    if not progress.route_counts:
        return ()
    return tuple(
        RouteStats(
            label=route.label,
            weight=route.weight,
            status_counts=tuple(sorted((s, c) for s, c in counts.items() if s)),
            failures=counts[0],
            latency=histogram.summary(),
        )
        for route, counts, histogram in zip(routes, progress.route_counts, histograms, strict=True)
    )


def run_load(
    plan: LoadPlan,
    progress: LoadProgress | None = None,
    histogram: LatencyHistogram | None = None,
    route_histograms: list[LatencyHistogram] | None = None,
) -> LoadStats:
    """Run :func:`drive` on a fresh event loop (uvloop when it is installed)."""
    ensure_open_files(plan.concurrency)
    with shutdown.deferred_interrupts():
        return _run_loop(plan, progress, histogram, route_histograms)


def _run_loop(
    plan: LoadPlan,
    progress: LoadProgress | None,
    histogram: LatencyHistogram | None,
    route_histograms: list[LatencyHistogram] | None,
) -> LoadStats:
    try:
        import uvloop  # noqa: PLC0415 - optional speed-up, imported only when driving
    except ImportError:
        return asyncio.run(drive(plan, progress, histogram, route_histograms))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(drive(plan, progress, histogram, route_histograms))
