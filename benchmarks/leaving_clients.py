"""What clients that leave cost leakbench's driver, and how many streams one driver holds.

    python benchmarks/leaving_clients.py                 # both sections
    python benchmarks/leaving_clients.py --sections abort --rounds 5

Starts one uvicorn target (benchmarks/streams_app.py, no database) and measures:

abort   full reads, then ``--abort 20%`` (a random point within the observed
        latency), on /pause (answers after 2 ms), in turn for --rounds rounds:
        the driver's CPU per request it finished (answered or left) and per
        answer, its requests/s; wrk on the same route as the peer's figure.
hold    --connections held SSE streams (default 1,000) on one driver process
        (``--hold`` seconds each): the most open at once, streams left,
        errors, the driver's CPU and peak RSS.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
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
SECTIONS = ("abort", "hold")


def _load(
    url: str,
    path: str,
    client: ClientBehaviour,
    *,
    concurrency: int,
    duration: float,
    timeout: float,
) -> LoadStats:
    plan = LoadPlan(
        base_url=url,
        endpoint=Endpoint("GET", path),
        concurrency=concurrency,
        duration=duration,
        request_timeout=timeout,
        client=client,
    )
    return run_load(plan, LoadProgress())


def abort_section(url: str, rounds: int, concurrency: int, duration: float) -> None:
    shapes = {"full reads": ClientBehaviour(), "--abort 20%": ClientBehaviour(AbortSpec(0.2))}
    figures: dict[str, list[tuple[float, float, float, int, int]]] = {name: [] for name in shapes}
    for round_number in range(rounds):
        # The order alternates from round to round: neither shape always runs first.
        order = list(shapes.items())
        for name, client in order if round_number % 2 == 0 else reversed(order):
            stats = _load(
                url, "/pause", client, concurrency=concurrency, duration=duration, timeout=10.0
            )
            finished = stats.responses + stats.left
            figures[name].append(
                (
                    stats.driver_cpu_seconds / finished * 1e6,
                    stats.driver_cpu_seconds / max(stats.responses, 1) * 1e6,
                    finished / stats.elapsed_seconds,
                    stats.left,
                    stats.errors,
                )
            )
    print(f"abort: /pause, {concurrency} connections, {duration:g} s, median of {rounds} rounds")
    print(
        f"  {'':12} {'CPU µs/request':>15} {'CPU µs/answer':>14} {'requests/s':>11} "
        f"{'left':>7} {'errors':>7}"
    )
    for name, rows in figures.items():
        per_request, per_answer, rate = (statistics.median(r[i] for r in rows) for i in range(3))
        left, errors = sum(r[3] for r in rows), sum(r[4] for r in rows)
        print(
            f"  {name:12} {per_request:15.1f} {per_answer:14.1f} {rate:11,.0f} "
            f"{left:7,} {errors:7,}"
        )
    if WRK is not None:
        wrk = run_wrk(f"{url}/pause", "GET", "", concurrency, duration)
        print(
            f"  {'wrk':12} {wrk.cpu_seconds / wrk.responses * 1e6:15.1f} "
            f"{wrk.cpu_seconds / wrk.responses * 1e6:14.1f} "
            f"{wrk.responses / wrk.seconds:11,.0f} {0:7,} {wrk.errors:7,}"
        )
    else:
        print("  wrk: not installed (apt-get install wrk); its figures are left out")


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
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--hold", type=float, default=5.0)
    args = parser.parse_args()
    ensure_open_files(max(args.connections, args.concurrency) + 100)
    target = Target("streams", "streams_app:app", kind="app", app_dir=HERE)
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} CPU(s)")
    with TargetProcess(target, dict(os.environ), Path(tempfile.mkdtemp())) as process:
        if "abort" in args.sections:
            abort_section(process.base_url, args.rounds, args.concurrency, args.duration)
        if "hold" in args.sections:
            hold_section(process.base_url, args.connections, args.hold)


if __name__ == "__main__":
    main()
