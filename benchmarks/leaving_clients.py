"""What clients that leave cost leakbench's driver, and how many streams one driver holds.

    python benchmarks/leaving_clients.py                 # abort and hold
    python benchmarks/leaving_clients.py --sections abort --rounds 5
    python benchmarks/leaving_clients.py --sections instructions   # needs valgrind

Starts one uvicorn target (benchmarks/streams_app.py, no database) and measures:

abort   full reads, then ``--abort 20%`` (a random point within the observed
        latency), on /pause (answers after 2 ms), in turn for --rounds rounds:
        the driver's CPU per request it finished (answered or left: every
        request sent, counted the same way for both) and per answer, its
        requests/s. First closed loop (each connection sends its next request
        when the last ends), then open loop with both at the same rate (half
        the slower one's closed-loop rate, a pace both keep with room to
        spare), so that neither is measured at a pace the other did not face.
        wrk on the same route (closed loop) is the peer's figure.
instructions
        the same two loads under ``valgrind --tool=callgrind`` on /pause?ms=50
        (the driver runs about 30 times slower there, so the answer must be
        slower for clients to leave before it): user-space instructions per
        request, repeatable on a busy machine, kernel time not included. The
        difference of a long and a short run, so start-up is not counted.
hold    --connections held SSE streams (default 1,000) on one driver process
        (``--hold`` seconds each): the most open at once, streams left,
        errors, the driver's CPU and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_runs import WRK, run_wrk

from leakbench._load.driver import LoadPlan, LoadProgress, run_load
from leakbench._load.limits import ensure_open_files
from leakbench._results import LoadStats
from leakbench._settings import Endpoint, Target
from leakbench._settings.clients import AbortSpec, ClientBehaviour
from leakbench._targets.process import TargetProcess

HERE = Path(__file__).resolve().parent
SECTIONS = ("abort", "hold", "instructions")
DEFAULT_SECTIONS = ["abort", "hold"]
SHAPES = {"full reads": ClientBehaviour(), "--abort 20%": ClientBehaviour(AbortSpec(0.2))}
# The instructions section: a short and a long run of each shape; their difference is counted.
_SHORT, _LONG = 300, 1500


def _load(
    url: str,
    path: str,
    client: ClientBehaviour,
    *,
    concurrency: int,
    duration: float,
    timeout: float,
    rate: float | None = None,
    requests: int | None = None,
) -> LoadStats:
    plan = LoadPlan(
        base_url=url,
        endpoint=Endpoint("GET", path),
        concurrency=concurrency,
        duration=duration,
        request_timeout=timeout,
        client=client,
        rate=rate,
        requests=requests,
    )
    return run_load(plan, LoadProgress())


# CPU µs per request finished (answered or left), per answer, requests/s, left, errors.
_Figures = tuple[float, float, float, int, int]


def _figures(stats: LoadStats) -> _Figures:
    finished = stats.responses + stats.left
    return (
        stats.driver_cpu_seconds / max(finished, 1) * 1e6,
        stats.driver_cpu_seconds / max(stats.responses, 1) * 1e6,
        finished / stats.elapsed_seconds,
        stats.left,
        stats.errors,
    )


def _rounds(
    url: str, rounds: int, concurrency: int, duration: float, rate: float | None
) -> dict[str, list[_Figures]]:
    figures: dict[str, list[_Figures]] = {name: [] for name in SHAPES}
    for round_number in range(rounds):
        # The order alternates from round to round: neither shape always runs first.
        order = list(SHAPES.items())
        for name, client in order if round_number % 2 == 0 else reversed(order):
            stats = _load(
                url,
                "/pause",
                client,
                concurrency=concurrency,
                duration=duration,
                timeout=10.0,
                rate=rate,
            )
            figures[name].append(_figures(stats))
    return figures


def _print_rows(figures: dict[str, list[_Figures]]) -> None:
    medians = {}
    for name, rows in figures.items():
        per_request, per_answer, rate = (statistics.median(r[i] for r in rows) for i in range(3))
        left, errors = sum(r[3] for r in rows), sum(r[4] for r in rows)
        medians[name] = per_request
        spread = f"{min(r[0] for r in rows):.1f}-{max(r[0] for r in rows):.1f}"
        print(
            f"  {name:12} {per_request:15.1f} {spread:>13} {per_answer:14.1f} {rate:11,.0f} "
            f"{left:7,} {errors:7,}"
        )
    full, abort = medians["full reads"], medians["--abort 20%"]
    print(f"  --abort 20% ÷ full reads, CPU per request: {abort / full:.2f}")


def _header() -> None:
    print(
        f"  {'':12} {'CPU µs/request':>15} {'(rounds)':>13} {'CPU µs/answer':>14} "
        f"{'requests/s':>11} {'left':>7} {'errors':>7}"
    )


def abort_section(url: str, rounds: int, concurrency: int, duration: float) -> None:
    closed = _rounds(url, rounds, concurrency, duration, None)
    print(f"abort: /pause, {concurrency} connections, {duration:g} s, median of {rounds} rounds")
    print(" closed loop")
    _header()
    _print_rows(closed)
    if WRK is not None:
        wrk = run_wrk(f"{url}/pause", "GET", "", concurrency, duration)
        per = wrk.cpu_seconds / wrk.responses * 1e6
        print(
            f"  {'wrk':12} {per:15.1f} {'':>13} {per:14.1f} "
            f"{wrk.responses / wrk.seconds:11,.0f} {0:7,} {wrk.errors:7,}"
        )
    else:
        print("  wrk: not installed (apt-get install wrk); its figures are left out")
    slower = min(statistics.median(r[2] for r in rows) for rows in closed.values())
    rate = max(100.0, round(slower * 0.5, -2))
    paced = _rounds(url, rounds, concurrency, duration, rate)
    print(f" open loop, both at {rate:,.0f} requests/s")
    _header()
    _print_rows(paced)


def _child(args: argparse.Namespace) -> None:
    """One load in this process (run under valgrind by the instructions section)."""
    client = SHAPES[args.child_shape]
    stats = _load(
        args.child_url,
        "/pause?ms=50",
        client,
        concurrency=50,
        duration=600.0,
        timeout=30.0,
        requests=args.child_requests,
    )
    print(
        json.dumps(
            {"finished": stats.responses + stats.left, "left": stats.left, "errors": stats.errors}
        )
    )


def _instructions(url: str, shape: str, requests: int) -> tuple[int, dict[str, int]]:
    """Instructions (callgrind's Ir) of a whole child process sending ``requests``."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable]
    command += [__file__, "--child-shape", shape, "--child-url", url]
    command += ["--child-requests", str(requests)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=HERE)
    collected = re.search(r"Collected : (\d+)", done.stderr)
    assert collected is not None, done.stderr[-2000:]
    return int(collected.group(1)), json.loads(done.stdout.strip().splitlines()[-1])


def instructions_section(url: str) -> None:
    if shutil.which("valgrind") is None:
        print("instructions: valgrind is not installed (apt-get install valgrind); left out")
        return
    print(
        f"instructions: /pause?ms=50 under callgrind, 50 connections, runs of {_SHORT:,} and "
        f"{_LONG:,} requests"
    )
    print(f"  {'':12} {'instructions/request':>21} {'left (long run)':>16} {'errors':>7}")
    for shape in SHAPES:
        short, _ = _instructions(url, shape, _SHORT)
        long, outcome = _instructions(url, shape, _LONG)
        per_request = (long - short) / (_LONG - _SHORT)
        print(f"  {shape:12} {per_request:21,.0f} {outcome['left']:16,} {outcome['errors']:7,}")


def hold_section(url: str, connections: int, hold: float) -> None:
    ensure_open_files(connections)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    stats = _load(
        url,
        "/events",
        ClientBehaviour(hold=hold),
        concurrency=connections,
        duration=hold,
        timeout=hold + 10,
    )
    wall = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"hold: {connections:,} SSE clients, --hold {hold:g}s, one driver process")
    print(
        f"  most streams open at once {stats.peak_open_streams:,}; streams left "
        f"{stats.streams_left:,}; answered in full {stats.responses:,}; errors "
        f"{stats.errors:,} (timeouts {stats.timeouts:,})"
    )
    print(
        f"  driver CPU {stats.driver_cpu_seconds:.2f} s over {wall:.1f} s; "
        f"peak RSS {max(rss, rss_before) / 1024:.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=DEFAULT_SECTIONS)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--hold", type=float, default=5.0)
    parser.add_argument("--child-shape", choices=SHAPES, help=argparse.SUPPRESS)
    parser.add_argument("--child-url", help=argparse.SUPPRESS)
    parser.add_argument("--child-requests", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_shape is not None:
        _child(args)
        return
    ensure_open_files(max(args.connections, args.concurrency) + 100)
    target = Target("streams", "streams_app:app", kind="app", app_dir=HERE)
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPU(s)")
    with TargetProcess(target, dict(os.environ), Path(tempfile.mkdtemp())) as process:
        if "abort" in args.sections:
            abort_section(process.base_url, args.rounds, args.concurrency, args.duration)
        if "instructions" in args.sections:
            instructions_section(process.base_url)
        if "hold" in args.sections:
            hold_section(process.base_url, args.connections, args.hold)


if __name__ == "__main__":
    main()
