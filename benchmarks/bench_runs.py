"""One measured load run: wrk, or leakbench's driver in a process of its own.

Each tool runs as a child process and is measured from outside with
``os.wait4``, so its CPU time and peak RSS are its own and nothing of the
benchmark's. The driver's child also reports the CPU it spent during the
load alone (without interpreter start-up and imports), which is the figure
used per 1,000 requests.

Run as a script, this module is that child: it reads a :class:`DriverSpec`
as JSON on stdin and prints the outcome as JSON on stdout.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from leakbench._load.driver import LoadPlan, LoadProgress, run_load
from leakbench._load.processes import run_load_processes
from leakbench._settings import Endpoint

WRK = shutil.which("wrk")
_WRK_SCRIPT = """wrk.method = "{method}"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
"""
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one tool achieved on one route."""

    tool: str
    # Answered requests, whatever the status: wrk's "N requests in", leakbench's
    # status counts. Requests never answered are in ``disconnects``.
    responses: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_seconds: float
    peak_rss_mb: float
    # Transport failures and timeouts (wrk: socket connect/write/timeout errors).
    errors: int = 0
    # Of those, requests given up after the request timeout (leakbench only): a
    # target too slow for the connections queues them, the driver did not fail.
    timeouts: int = 0
    # Requests lost to a connection the server closed, never answered (wrk counts
    # them as read errors, leakbench as disconnects).
    disconnects: int = 0
    # Of the answered, those with a status other than 2xx or 3xx (wrk's
    # "Non-2xx or 3xx responses"): on /error, every one.
    non_2xx: int = 0
    # The sampling section: pg_stat_activity samples taken, and the responses/s
    # in the windows with sampling and in those without.
    samples: int = 0
    rps_sampling: float = 0.0
    rps_not_sampling: float = 0.0
    # leakbench's self-check (LoadStats.driver_saturated); None for wrk.
    saturated: bool | None = None

    # The responses counted for the rate, and over how long: wrk counts those
    # answered before its deadline; leakbench's child does the same, leaving out
    # the drain of in-flight requests after the deadline (None: all of them).
    window_responses: int | None = None
    window_seconds: float | None = None

    @property
    def rps(self) -> float:
        if self.window_responses is not None and self.window_seconds:
            return self.window_responses / self.window_seconds
        return self.responses / self.seconds if self.seconds else 0.0

    @property
    def cpu_per_1k(self) -> float:
        return self.cpu_seconds / self.responses * 1000 if self.responses else 0.0


@dataclass(frozen=True, slots=True)
class DriverSpec:
    """What the driver's child process runs."""

    url: str
    method: str
    path: str
    body: str
    concurrency: int
    duration: float
    requests: int | None = None
    request_timeout: float = 10.0  # leakbench run's default
    # Sample pg_stat_activity as ``leakbench run`` does (same process, same
    # query), in windows of ``poll_window`` s alternating with windows without.
    poll_dsn: str | None = None
    poll_database: str | None = None
    poll_interval: float = 0.1
    poll_window: float = 1.0
    # A control run: the same windows, but none samples (shows the noise floor).
    poll_control: bool = False
    # --driver-processes: the load shared over this many spawned driver processes.
    driver_processes: int = 1


class ChildFailed(Exception):
    """A measured process exited badly; the message carries its output."""


@dataclass(frozen=True, slots=True)
class _Finished:
    code: int
    output: str
    errors: str
    cpu_seconds: float
    peak_rss_mb: float


def _peak_rss_mb(pid: int, last: float) -> float:
    """VmHWM, the high-water mark of the process's own memory since its exec.

    wait4's ru_maxrss would also count the parent's pages the child had
    between fork and exec: 50 MB of Python for a 5 MB wrk.
    """
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return max(last, int(line.split()[1]) / 1024)
    return last


def _run_measured(args: list[str], stdin: str, timeout: float) -> _Finished:
    """Run ``args`` to its end; its output, its CPU time (wait4) and its peak RSS."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=out, stderr=err, text=True)
        assert process.stdin is not None
        process.stdin.write(stdin)
        process.stdin.close()
        deadline = time.monotonic() + timeout
        peak = 0.0
        while True:
            # Sampled until the end: a high-water mark only needs a late look.
            peak = _peak_rss_mb(process.pid, peak)
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                process.kill()
            time.sleep(0.01)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return _Finished(
            process.returncode, out.read(), err.read(), usage.ru_utime + usage.ru_stime, peak
        )


def _latency_ms(text: str, label: str) -> float:
    found = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)
    return float(found.group(1)) * _UNITS[found.group(2)] if found else 0.0


def run_wrk(  # noqa: PLR0917 - mirrors wrk's own options
    url: str, method: str, body: str, concurrency: int, duration: float, threads: int = 1
) -> Outcome:
    """wrk with ``threads`` threads (one by default), leakbench's timeout, and the same body."""
    assert WRK is not None
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT.format(method=method, body=body.replace("'", "\\'")))
    try:
        args = [WRK, f"-t{threads}", f"-c{concurrency}", f"-d{duration:g}s", "--timeout", "10s"]
        args += ["--latency", "-s", script.name, url]
        wrk = _run_measured(args, "", duration + 30)
    finally:
        Path(script.name).unlink(missing_ok=True)
    text = wrk.output
    done = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", text)
    if wrk.code != 0 or done is None:
        raise ChildFailed(f"wrk failed (exit {wrk.code}): {(text + wrk.errors).strip()[-400:]}")
    # "N requests in" counts answered requests (wrk's response_complete), 4xx and
    # 5xx included; a connection closed before the answer is a read error instead.
    errors = re.search(r"connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    connect, read, write, timeout = (int(n) for n in errors.groups()) if errors else (0, 0, 0, 0)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return Outcome(
        tool="wrk",
        responses=int(done.group(1)),
        seconds=float(done.group(2)) * _UNITS[done.group(3)] / 1000,
        p50_ms=_latency_ms(text, "50%"),
        p99_ms=_latency_ms(text, "99%"),
        cpu_seconds=wrk.cpu_seconds,
        peak_rss_mb=wrk.peak_rss_mb,
        errors=connect + write + timeout,
        disconnects=read,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


def run_driver(spec: DriverSpec) -> Outcome:
    """leakbench's driver in a fresh interpreter, fed ``spec`` on stdin."""
    child = _run_measured(
        [sys.executable, __file__],
        json.dumps(dataclasses.asdict(spec)),
        spec.duration + spec.request_timeout + 60,
    )
    if child.code != 0:
        raise ChildFailed(f"the driver's process failed (exit {child.code}): {child.errors[-600:]}")
    data = json.loads(child.output)
    return Outcome(
        tool="leakbench",
        responses=data["responses"],
        seconds=data["elapsed_seconds"],
        p50_ms=data["p50_ms"],
        p99_ms=data["p99_ms"],
        cpu_seconds=data["load_cpu_seconds"],
        peak_rss_mb=child.peak_rss_mb,
        errors=data["errors"],
        timeouts=data["timeouts"],
        disconnects=data["disconnects"],
        non_2xx=data["non_2xx"],
        samples=data["samples"],
        rps_sampling=data["rps_sampling"],
        rps_not_sampling=data["rps_not_sampling"],
        saturated=data["saturated"],
        window_responses=data["window_responses"],
        window_seconds=spec.duration if data["window_responses"] is not None else None,
    )


class _AlternateSampling(threading.Thread):
    """Samples in half the windows of the load and counts responses in each kind.

    Windows within one run cancel the drift of a shared machine that separate
    on and off runs suffer from; their order is shuffled because a closed loop
    answers in waves, which a strict alternation can alias with.
    """

    def __init__(self, spec: DriverSpec, progress: LoadProgress) -> None:
        super().__init__(daemon=True)
        self.spec, self.progress = spec, progress
        self.counted = {True: [0, 0.0], False: [0, 0.0]}  # sampling: [responses, seconds]
        self.samples = 0

    def run(self) -> None:
        from leakbench._postgres.poller import activity_poller  # noqa: PLC0415 - child only
        from leakbench._results import Phase  # noqa: PLC0415

        assert self.spec.poll_dsn and self.spec.poll_database
        with activity_poller(self.spec.poll_dsn, self.spec.poll_database, 3600) as poller:
            while not self.progress.started_at:
                time.sleep(0.01)
            time.sleep(1.0)  # connections are still opening: no window counts this
            count = int((self.spec.duration - 1.0) / self.spec.poll_window) // 2
            order = [True, False] * count
            random.Random(count).shuffle(order)  # noqa: S311 - an experiment's order, not a secret
            for sampling in order:
                started, before = time.monotonic(), self.progress.completed
                window_end = started + self.spec.poll_window
                while (now := time.monotonic()) < window_end:
                    if sampling and not self.spec.poll_control:
                        poller.snapshot(Phase.LOAD)
                        self.samples += 1
                    time.sleep(min(self.spec.poll_interval, max(0.0, window_end - now)))
                tally = self.counted[sampling]
                tally[0] += self.progress.completed - before
                tally[1] += time.monotonic() - started

    def rps(self, *, sampling: bool) -> float:
        responses, seconds = self.counted[sampling]
        return responses / seconds if seconds else 0.0


class _AtDeadline(threading.Thread):
    """Counts the responses received by the load's deadline, as wrk reports them."""

    def __init__(self, duration: float, progress: LoadProgress) -> None:
        super().__init__(daemon=True)
        self.duration, self.progress = duration, progress
        self.responses: int | None = None
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.progress.started_at:
            if self.stopped.wait(0.001):
                return
        deadline = self.progress.started_at + self.duration
        if not self.stopped.wait(max(0.0, deadline - time.monotonic())):
            # Answers so far; the same sum with one driver process or several.
            progress = self.progress
            self.responses = (
                progress.completed
                - progress.transport_errors
                - progress.timeouts
                - progress.disconnects
            )


def _cpu_seconds() -> float:
    """CPU of this process and of its driver processes (counted once they are reaped)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _child_main() -> None:
    """Run one load as ``leakbench run`` would and print its figures as JSON."""
    spec = DriverSpec(**json.loads(sys.stdin.read()))
    plan = LoadPlan(
        base_url=spec.url,
        endpoint=Endpoint(spec.method, spec.path),
        concurrency=spec.concurrency,
        duration=spec.duration,
        requests=spec.requests,
        request_timeout=spec.request_timeout,
        body=spec.body.encode(),
    )
    progress = LoadProgress()
    sampler = _AlternateSampling(spec, progress) if spec.poll_dsn else None
    if sampler is not None:
        sampler.start()
    at_deadline = _AtDeadline(spec.duration, progress)
    at_deadline.start()
    before = _cpu_seconds()
    if spec.driver_processes > 1:
        stats = run_load_processes(plan, progress, spec.driver_processes)
    else:
        stats = run_load(plan, progress)
    after = _cpu_seconds()
    at_deadline.stopped.set()  # a request budget may end the load before the deadline
    at_deadline.join()
    if sampler is not None:
        sampler.join()
    cpu = after - before
    print(
        json.dumps(
            {
                "responses": stats.responses,
                "elapsed_seconds": stats.elapsed_seconds,
                "p50_ms": stats.latency.p50,
                "p99_ms": stats.latency.p99,
                "load_cpu_seconds": cpu,
                "errors": stats.errors,
                "timeouts": stats.timeouts,
                "disconnects": stats.disconnects,
                "non_2xx": sum(n for status, n in stats.status_counts if status >= 400),
                "samples": sampler.samples if sampler else 0,
                "rps_sampling": sampler.rps(sampling=True) if sampler else 0.0,
                "rps_not_sampling": sampler.rps(sampling=False) if sampler else 0.0,
                "saturated": stats.driver_saturated,
                "window_responses": at_deadline.responses,
            }
        )
    )


if __name__ == "__main__":
    _child_main()
