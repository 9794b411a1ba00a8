"""The driver on several cores: N driver processes, one load, histograms merged exactly.

One Python process drives at most one core. ``--driver-processes N``
splits a row's connections (and its request budget and rate) over N child
processes, each running :func:`leakbench._load.driver.drive` on its own
event loop. They start together once all are ready, report their counters
four times a second for the live view, and hand back their latency
histograms, which are merged bucket by bucket: the percentiles are those of
every request, never an average of per-process percentiles.

Children are spawned (not forked: the parent runs threads) and ignore
Ctrl-C; the parent tells them to stop through a shared event, so a stop
ends their requests the same way as in one process.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from multiprocessing.connection import Connection
from multiprocessing.sharedctypes import SynchronizedArray
from typing import Any, NamedTuple

from leakbench._load import driver
from leakbench._load.driver import LoadPlan, LoadProgress
from leakbench._load.histogram import LatencyHistogram
from leakbench._load.limits import ensure_open_files
from leakbench._results import LoadStats, RouteStats
from leakbench._system import shutdown
from leakbench.errors import RunError

# Counters each child publishes for the live view, in this order.
_COUNTERS = (
    "sent",
    "completed",
    "answered",
    "transport_errors",
    "timeouts",
    "server_errors",
    "disconnects",
    "aborted",
    "streams_left",
    "streams_open",
    "streams_peak",
)
_PUBLISH_SECONDS = 0.25
# Spawned children import httpx2, uvloop and leakbench before they are ready.
_READY_TIMEOUT = 60.0
# After the load's deadline, in-flight requests end within the request timeout.
_RESULT_GRACE = 30.0
MAX_DRIVER_PROCESSES = 64


def default_processes(target_workers: int, cores: int | None = None) -> int:
    """Driver processes for a target with ``target_workers`` workers on this machine.

    The driver must not take the cores the target needs: as many driver
    processes as target workers, but no more than the cores left to it, and
    at least one. On 2 cores that is always one; on 8 cores with 4 workers, four.
    """
    cores = cores if cores is not None else len(os.sched_getaffinity(0))
    return max(1, min(target_workers, cores - target_workers))


def chosen_processes(requested: int | None, target_workers: int) -> int:
    """``--driver-processes`` when given, else :func:`default_processes`."""
    return requested or default_processes(target_workers)


def split(total: int, parts: int) -> list[int]:
    """``total`` spread over ``parts`` as evenly as integers allow (earlier parts get more)."""
    base, extra = divmod(total, parts)
    return [base + (1 if index < extra else 0) for index in range(parts)]


def plans_for(plan: LoadPlan, processes: int) -> list[LoadPlan]:
    """One plan per process: the connections, request budget and rate shared out."""
    processes = max(1, min(processes, plan.concurrency))
    concurrency = split(plan.concurrency, processes)
    requests = split(plan.requests, processes) if plan.requests is not None else None
    plans = []
    for index in range(processes):
        plans.append(
            dataclasses.replace(
                plan,
                concurrency=concurrency[index],
                requests=requests[index] if requests is not None else None,
                rate=plan.rate * concurrency[index] / plan.concurrency if plan.rate else None,
                # {n} stays unique across processes: 1, 3, 5... and 2, 4, 6...
                counter_start=plan.counter_start + index * plan.counter_step,
                counter_step=plan.counter_step * processes,
            )
        )
    # A process whose share of the request budget is 0 would send nothing.
    return [p for p in plans if p.requests is None or p.requests > 0]


class ProcessesDriver:
    """A row's load step that runs the plan over ``processes`` driver processes."""

    def __init__(self, processes: int) -> None:
        self.processes = processes

    def __call__(self, plan: LoadPlan, progress: LoadProgress) -> LoadStats:
        return run_load_processes(plan, progress, self.processes)


def run_load_processes(plan: LoadPlan, progress: LoadProgress, processes: int) -> LoadStats:
    """Drive ``plan`` from ``processes`` child processes; merge their figures exactly."""
    plans = plans_for(plan, processes)
    if len(plans) == 1:
        return driver.run_load(plans[0], progress)
    ensure_open_files(plan.concurrency)
    context = multiprocessing.get_context("spawn")
    counters = context.Array("q", len(plans) * len(_COUNTERS), lock=False)
    go, stop = context.Event(), context.Event()
    with _children(context, plans, counters, go, stop) as (children, pipes):
        for pipe in pipes:
            if not pipe.poll(_READY_TIMEOUT) or pipe.recv() != "ready":
                raise RunError("A driver process did not start; run with --driver-processes 1.")
        progress.started_at = time.monotonic()
        if shutdown.stop_requested():
            stop.set()  # before the start, so that no child sends anything
        go.set()
        results = _collect(plan, pipes, counters, progress, stop)
    del children
    return merge(
        [(stats, histogram) for stats, histogram, _ in results],
        len(plans),
        [routes for _, _, routes in results],
    )


@contextlib.contextmanager
def _children(
    context: Any,
    plans: list[LoadPlan],
    counters: SynchronizedArray[int],
    go: Any,
    stop: Any,
) -> Iterator[tuple[list[Any], list[Connection]]]:
    children, pipes = [], []
    try:
        for index, child_plan in enumerate(plans):
            parent_end, child_end = context.Pipe()
            child = context.Process(
                target=_child_main,
                args=(child_plan, index, _Shared(counters, go, stop), child_end),
                name=f"leakbench-driver-{index}",
                daemon=True,
            )
            child.start()
            child_end.close()
            children.append(child)
            pipes.append(parent_end)
        yield children, pipes
    finally:
        stop.set()
        go.set()  # a child still waiting to start sees the stop at once
        for child in children:
            child.join(timeout=shutdown.grace(5.0))
            if child.is_alive():
                child.kill()
                child.join(timeout=5.0)


# What a driver process sends back: its figures, its histogram and its routes' histograms.
_ChildResult = tuple[LoadStats, LatencyHistogram, list[LatencyHistogram]]


def _collect(
    plan: LoadPlan,
    pipes: list[Connection],
    counters: SynchronizedArray[int],
    progress: LoadProgress,
    stop: Any,
) -> list[_ChildResult]:
    """Wait for every child's result, summing their counters into ``progress`` meanwhile."""
    deadline = time.monotonic() + plan.duration + plan.request_timeout + _RESULT_GRACE
    results: dict[int, _ChildResult] = {}
    while len(results) < len(pipes):
        if shutdown.stop_requested():
            stop.set()
        if time.monotonic() > deadline:
            raise RunError("A driver process did not finish its load in time.")
        for index, pipe in enumerate(pipes):
            if index not in results and pipe.poll(0.05):
                try:
                    results[index] = pipe.recv()
                except EOFError:
                    raise RunError(
                        f"Driver process {index} died during the load; "
                        "run with --driver-processes 1."
                    ) from None
        _publish_sum(counters, len(pipes), progress)
    _publish_sum(counters, len(pipes), progress)
    return [results[index] for index in range(len(pipes))]


def _publish_sum(counters: SynchronizedArray[int], children: int, progress: LoadProgress) -> None:
    width = len(_COUNTERS)
    for offset, name in enumerate(_COUNTERS):
        setattr(progress, name, sum(counters[i * width + offset] for i in range(children)))


def merge(
    results: list[tuple[LoadStats, LatencyHistogram]],
    processes: int,
    route_histograms: list[list[LatencyHistogram]] | None = None,
) -> LoadStats:
    """One row's figures from every process's: counts added, histograms merged bucket by bucket.

    ``route_histograms`` holds each process's histograms of a mix's routes.
    """
    histogram = LatencyHistogram()
    statuses: Counter[int] = Counter()
    for stats, child_histogram in results:
        histogram.merge(child_histogram)
        statuses.update(dict(stats.status_counts))
    every = [stats for stats, _ in results]
    return LoadStats(
        sent=sum(s.sent for s in every),
        status_counts=tuple(sorted(statuses.items())),
        transport_errors=sum(s.transport_errors for s in every),
        timeouts=sum(s.timeouts for s in every),
        elapsed_seconds=max(s.elapsed_seconds for s in every),
        latency=histogram.summary(),
        concurrency=sum(s.concurrency for s in every),
        driver_cpu_seconds=round(sum(s.driver_cpu_seconds for s in every), 3),
        disconnects=sum(s.disconnects for s in every),
        aborted=sum(s.aborted for s in every),
        streams_left=sum(s.streams_left for s in every),
        # Each process's own peak, added: at most this many were open at once.
        peak_open_streams=sum(s.peak_open_streams for s in every),
        driver_cpu_wait_seconds=round(sum(s.driver_cpu_wait_seconds for s in every), 3),
        driver_processes=processes,
        routes=merge_routes([s.routes for s in every], route_histograms),
    )


def merge_routes(
    per_process: list[tuple[RouteStats, ...]],
    route_histograms: list[list[LatencyHistogram]] | None = None,
) -> tuple[RouteStats, ...]:
    """A mix's per-route figures summed over the processes (each drove every route).

    With every process's route histograms, each route's percentiles are those of
    all its requests; without them, the figures of the first process are kept.
    """
    first = next((routes for routes in per_process if routes), ())
    merged = []
    for index, route in enumerate(first):
        statuses: Counter[int] = Counter()
        failures = 0
        for routes in per_process:
            if routes:
                statuses.update(dict(routes[index].status_counts))
                failures += routes[index].failures
        latency = route.latency
        if route_histograms:
            histogram = LatencyHistogram()
            for histograms in route_histograms:
                if index < len(histograms):
                    histogram.merge(histograms[index])
            latency = histogram.summary()
        merged.append(
            dataclasses.replace(
                route,
                status_counts=tuple(sorted(statuses.items())),
                failures=failures,
                latency=latency,
            )
        )
    return tuple(merged)


class _Shared(NamedTuple):
    """What the parent and its driver processes share: counters, and the start and stop."""

    counters: SynchronizedArray[int]
    go: Any
    stop: Any


def _child_main(plan: LoadPlan, index: int, shared: _Shared, pipe: Connection) -> None:
    """One driver process: wait for the start, drive, send back the stats and histogram."""
    counters, go, stop = shared
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    progress = LoadProgress()
    histogram = LatencyHistogram()
    route_histograms: list[LatencyHistogram] = []
    pipe.send("ready")
    go.wait()
    if stop.is_set():  # stopped before it started: the load ends at once, with its figures
        shutdown.request_stop()
    done = threading.Event()
    watcher = threading.Thread(
        target=_watch, args=(index, counters, progress, stop, done), daemon=True
    )
    watcher.start()
    try:
        stats = driver.run_load(plan, progress, histogram, route_histograms)
    finally:
        done.set()
        watcher.join()
    pipe.send((stats, histogram, route_histograms))


def _watch(
    index: int,
    counters: SynchronizedArray[int],
    progress: LoadProgress,
    stop: Any,
    done: threading.Event,
) -> None:
    """Publish this child's counters, and turn the parent's stop into a local stop request."""
    width = len(_COUNTERS)
    while not done.wait(_PUBLISH_SECONDS):
        if stop.is_set():
            shutdown.request_stop()
        for offset, name in enumerate(_COUNTERS):
            counters[index * width + offset] = getattr(progress, name)
    for offset, name in enumerate(_COUNTERS):
        counters[index * width + offset] = getattr(progress, name)
