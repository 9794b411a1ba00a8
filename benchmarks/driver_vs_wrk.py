"""leakbench's load driver against wrk, on the same targets, in one run.

    python benchmarks/driver_vs_wrk.py                      # every default section
    python benchmarks/driver_vs_wrk.py --sections compare --rounds 5

Starts an embedded PostgreSQL, an owned database and three targets the way
``leakbench run`` does (the with-session scenario; a trivial FastAPI route
and a bare ASGI app, neither touching a database), then measures, section
by section:

compare   wrk and leakbench in turn on /ok and /error (with-session), on
          /trivial and on /raw: answered responses/s (any status: wrk's
          "N requests in", leakbench's status counts), p50/p99, CPU s per
          1,000 responses, peak RSS, the non-2xx answers and the requests
          never answered (wrk's read errors, leakbench's unanswered), and
          leakbench's ratios to wrk (medians over --rounds, the order of the
          tools alternating from round to round). On /raw the load tool, not
          the app, is the bottleneck.
scale     1,000 connections on /ok: responses and driver-side errors.
memory    the driver's peak RSS for N and 10 N requests.
startup   from starting ``leakbench run`` to its first load request, and to
          its exit, embedded PostgreSQL included.
sampling  the target's throughput with pg_stat_activity sampled at 10 Hz
          (in the driver's process, as leakbench does) and without.
processes the bare ASGI route on a target with 2 uvicorn workers: leakbench
          with 1 and with 2 driver processes (--driver-processes) against
          wrk with 2 threads, in the same run (median of --rounds).
sites     with-session /ok on two targets in the same run, the probe recording
          where each connection is checked out (leakbench's default) and not
          (LEAKBENCH_CHECKOUT_SITES=0): resp/s of both tools on each, the
          leakbench/wrk ratio with the recording on, and what the recording costs.
holders   with-session /ok on two targets in the same run, the probe keeping a weak
          reference to each checkout's holder (leakbench's default: it tells a
          checkout the garbage collector ended) and not
          (LEAKBENCH_CHECKOUT_HOLDERS=0): resp/s of both tools on each and what
          the tracking costs, wrk driving and leakbench driving.
verdict   (not in the default set) the default ``leakbench run --pattern
          both``, timed to its verdict.

wrk is skipped with a message when it is not installed (apt-get install wrk).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import psutil
from bench_runs import WRK, ChildFailed, DriverSpec, Outcome, run_driver, run_wrk

from leakbench._load.limits import ensure_open_files
from leakbench._postgres import admin
from leakbench._postgres.poller import activity_poller
from leakbench._postgres.server import Server, open_server
from leakbench._results import Phase
from leakbench._runner.versions import collect
from leakbench._settings import RunConfig, Target
from leakbench._settings.target_names import resolve_patterns
from leakbench._targets.probe import CHECKOUT_HOLDERS_ENV, CHECKOUT_SITES_ENV
from leakbench._targets.process import TargetProcess
from leakbench._targets.spawned import target_environment

HERE = Path(__file__).resolve().parent
BODY = '{"name": "test"}'
SECTIONS = (
    "compare",
    "scale",
    "memory",
    "startup",
    "sampling",
    "processes",
    "sites",
    "holders",
    "verdict",
)
DEFAULT_SECTIONS = SECTIONS[:-1]
_PAUSE_SECONDS = 1.0  # lets the target finish in-flight work between runs


@dataclass(frozen=True, slots=True)
class Route:
    label: str
    target: str
    path: str


ROUTES = (
    Route("with-session /ok", "with-session", "/ok"),
    Route("with-session /error", "with-session", "/error"),
    Route("trivial /trivial", "trivial", "/trivial"),
    Route("bare ASGI /raw", "raw", "/raw"),
)
# The same route on a target whose probe does not record checkout sites.
UNRECORDED = Route("with-session /ok, no sites", "with-session-unrecorded", "/ok")
# The same route on a target whose probe keeps no weak reference to each checkout's holder.
UNTRACKED = Route("with-session /ok, no holders", "with-session-untracked", "/ok")


@dataclass(frozen=True, slots=True)
class Bench:
    """The running targets and the database the sampling section watches."""

    urls: dict[str, str]
    server: Server
    database: str
    args: argparse.Namespace
    # The targets' process ids, by the same keys as ``urls`` (their CPU time is read).
    pids: dict[str, int] = field(default_factory=dict)

    def driver(self, route: Route, **overrides: object) -> Outcome:
        spec = DriverSpec(
            url=self.urls[route.target],
            method="POST",
            path=route.path,
            body=BODY,
            concurrency=self.args.concurrency,
            duration=self.args.duration,
        )
        time.sleep(_PAUSE_SECONDS)
        return run_driver(replace(spec, **overrides))  # type: ignore[arg-type]

    def wrk(self, route: Route, concurrency: int | None = None, threads: int = 1) -> Outcome:
        time.sleep(_PAUSE_SECONDS)
        return run_wrk(
            self.urls[route.target] + route.path,
            "POST",
            BODY,
            concurrency or self.args.concurrency,
            self.args.duration,
            threads,
        )


@contextlib.contextmanager
def targets(args: argparse.Namespace) -> Iterator[Bench]:
    """Embedded PostgreSQL, an owned database, and both targets, all removed afterwards."""
    ensure_open_files(max(args.concurrency, args.scale_connections))
    with open_server(None) as server, tempfile.TemporaryDirectory(prefix="lb-bench-") as work:
        database = f"{admin.DATABASE_PREFIX}{admin.new_run_id()}_bench"
        with admin.connect(server.admin_dsn) as conn:
            admin.create_owned_database(conn, database)
        try:
            with_session = resolve_patterns(["with-session"])[0]
            env = target_environment(RunConfig(targets=(with_session,)), server, database)
            trivial = Target("trivial", "trivial_app:app", kind="app", app_dir=HERE)
            raw = Target("raw", "trivial_app:raw_app", kind="app", app_dir=HERE)
            unrecorded = {**env, CHECKOUT_SITES_ENV: "0"}
            untracked = {**env, CHECKOUT_HOLDERS_ENV: "0"}
            with (
                TargetProcess(with_session, env, Path(work) / "ws") as ws,
                TargetProcess(with_session, unrecorded, Path(work) / "wsu") as wsu,
                TargetProcess(with_session, untracked, Path(work) / "wsh") as wsh,
                TargetProcess(trivial, env, Path(work) / "tr") as tr,
                TargetProcess(raw, env, Path(work) / "raw") as bare,
            ):
                urls = {
                    "with-session": ws.base_url,
                    "with-session-unrecorded": wsu.base_url,
                    "with-session-untracked": wsh.base_url,
                    "trivial": tr.base_url,
                    "raw": bare.base_url,
                }
                pids = {"with-session": ws.pid, "with-session-untracked": wsh.pid}
                yield Bench(urls, server, database, args, {k: v for k, v in pids.items() if v})
        finally:
            with admin.connect(server.admin_dsn) as conn:
                admin.drop_owned_database(conn, database)


def _median(outcomes: list[Outcome], value: Callable[[Outcome], float]) -> float:
    return statistics.median(value(o) for o in outcomes)


def _rounds(count: int, *measures: Callable[[], Outcome]) -> list[list[Outcome]]:
    """Run every measure ``count`` times, reversing their order each round (drift cancels)."""
    results: list[list[Outcome]] = [[] for _ in measures]
    order = list(enumerate(measures))
    for index in range(count):
        for slot, measure in order if index % 2 == 0 else order[::-1]:
            results[slot].append(measure())
    return results


_HEADER = (
    f"  {'tool':<10}{'resp/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'CPU s/1k':>10}{'RSS MB':>8}"
    f"{'non-2xx':>9}{'errors':>8}{'unanswered':>11}{'saturated':>11}"
)


def _row(name: str, runs: list[Outcome]) -> str:
    rps, p50, p99 = (
        _median(runs, lambda o: o.rps),
        _median(runs, lambda o: o.p50_ms),
        _median(runs, lambda o: o.p99_ms),
    )
    cpu, rss = _median(runs, lambda o: o.cpu_per_1k), max(o.peak_rss_mb for o in runs)
    errors, disconnects = sum(o.errors for o in runs), sum(o.disconnects for o in runs)
    non_2xx = sum(o.non_2xx for o in runs)
    checked = [o.saturated for o in runs if o.saturated is not None]
    saturated = f"{sum(checked)}/{len(checked)}" if checked else "-"
    return (
        f"  {name:<10}{rps:>10,.0f}{p50:>10,.1f}{p99:>10,.1f}{cpu:>10.3f}{rss:>8.1f}"
        f"{non_2xx:>9,}{errors:>8,}{disconnects:>11,}{saturated:>11}"
    )


def section_compare(bench: Bench) -> None:
    rounds = bench.args.rounds
    print(
        f"\n## compare: {bench.args.concurrency} connections, {bench.args.duration:g} s a run, "
        f"median of {rounds} round(s)"
    )
    print(_HEADER)
    for route in ROUTES:
        measures = [partial(bench.driver, route)]
        if WRK:
            measures.append(partial(bench.wrk, route))
        ours, *others = _rounds(rounds, *measures)
        print(route.label)
        if others:
            print(_row("wrk", others[0]))
        print(_row("leakbench", ours))
        if others:
            theirs = others[0]
            rps = _median(ours, lambda o: o.rps) / _median(theirs, lambda o: o.rps)
            cpu = _median(ours, lambda o: o.cpu_per_1k) / _median(theirs, lambda o: o.cpu_per_1k)
            each = ", ".join(f"{o.rps / t.rps:.2f}" for o, t in zip(ours, theirs, strict=True))
            print(f"  leakbench/wrk: resp/s {rps:.2f} (rounds: {each}); CPU per 1k {cpu:.1f}x")


_SCALE_REQUEST_TIMEOUT = 60.0


def section_scale(bench: Bench) -> None:
    connections = bench.args.scale_connections
    print(f"\n## scale: {connections:,} connections on with-session /ok, {bench.args.duration:g} s")
    route = ROUTES[0]
    # A slow target queues 1,000 requests for longer than run's default 10 s
    # timeout; the section is about the driver, so it waits as long as it takes.
    ours = bench.driver(route, concurrency=connections, request_timeout=_SCALE_REQUEST_TIMEOUT)
    print(
        f"  leakbench: {ours.responses:,} responses ({ours.rps:,.0f}/s), "
        f"p99 {ours.p99_ms:,.0f} ms, transport errors {ours.errors - ours.timeouts}, "
        f"timeouts (> {_SCALE_REQUEST_TIMEOUT:g} s) {ours.timeouts}, "
        f"disconnects {ours.disconnects}, peak RSS {ours.peak_rss_mb:.1f} MB"
    )
    if WRK:
        theirs = bench.wrk(route, concurrency=connections)
        print(
            f"  wrk:       {theirs.responses:,} responses ({theirs.rps:,.0f}/s), p99 "
            f"{theirs.p99_ms:,.0f} ms, socket errors {theirs.errors + theirs.disconnects}"
        )


def section_memory(bench: Bench) -> None:
    small = bench.args.memory_requests
    print(f"\n## memory: the driver's peak RSS on /trivial, {bench.args.concurrency} connections")
    peaks = []
    for requests in (small, small * 10):
        outcome = bench.driver(ROUTES[2], requests=requests, duration=300.0)
        peaks.append(outcome.peak_rss_mb)
        print(
            f"  {requests:>8,} requests: peak RSS {outcome.peak_rss_mb:.1f} MB "
            f"({outcome.rps:,.0f} resp/s)"
        )
    print(f"  growth for 10x the requests: {peaks[1] - peaks[0]:+.1f} MB")


def section_sampling(bench: Bench) -> None:
    interval, window = 0.1, 0.5
    duration = 2 * bench.args.duration
    print(
        f"\n## sampling: with-session /ok, pg_stat_activity every {interval:g} s in half of the "
        f"{window:g} s windows (shuffled) of each run; {bench.args.rounds} run(s) of "
        f"{duration:g} s, and as many control runs whose windows all go unsampled (noise floor)"
    )
    for control in (False, True):
        runs = [
            bench.driver(
                ROUTES[0],
                duration=duration,
                poll_dsn=bench.server.admin_dsn,
                poll_database=bench.database,
                poll_interval=interval,
                poll_window=window,
                poll_control=control,
            )
            for _ in range(bench.args.rounds)
        ]
        on = statistics.mean(o.rps_sampling for o in runs)
        off = statistics.mean(o.rps_not_sampling for o in runs)
        each = ", ".join(f"{(1 - o.rps_sampling / o.rps_not_sampling) * 100:+.1f}" for o in runs)
        name = "control " if control else "sampling"
        print(
            f"  {name}: {on:,.0f} vs {off:,.0f} resp/s, cost {(1 - on / off) * 100:+.1f} % "
            f"(runs: {each} %); {sum(o.samples for o in runs)} samples"
        )
    per_sample = _sample_seconds(bench)
    print(
        f"  one sample takes {per_sample * 1000:.2f} ms end to end (an upper bound of its CPU, "
        f"client and server): at most {per_sample / interval * 100:.1f} % of one core at 10 Hz"
    )


def _sample_seconds(bench: Bench, count: int = 200) -> float:
    """Mean wall time of one pg_stat_activity sample, taken back to back."""
    with activity_poller(bench.server.admin_dsn, bench.database, interval=3600) as poller:
        poller.snapshot(Phase.LOAD)  # connected and warm
        started = time.perf_counter()
        for _ in range(count):
            poller.snapshot(Phase.LOAD)
        return (time.perf_counter() - started) / count


def section_sites(bench: Bench) -> None:
    rounds = bench.args.rounds
    print(
        f"\n## sites: with-session /ok with and without the checkout-site recording, "
        f"{bench.args.concurrency} connections, {bench.args.duration:g} s a run, "
        f"median of {rounds} round(s)"
    )
    recorded, unrecorded = ROUTES[0], UNRECORDED
    measures = [partial(bench.driver, recorded), partial(bench.driver, unrecorded)]
    if WRK:
        measures += [partial(bench.wrk, recorded), partial(bench.wrk, unrecorded)]
    outcomes = _rounds(rounds, *measures)
    print(_HEADER)
    for index, label in enumerate(("sites recorded (default)", "not recorded")):
        print(f"with-session /ok, {label}")
        if WRK:
            print(_row("wrk", outcomes[index + 2]))
        print(_row("leakbench", outcomes[index]))
    on, off = _checkout_microseconds(bench)
    print(
        f"  one checkout + checkin through SQLAlchemy's pool, in this process: {on:.1f} us "
        f"with the site recorded, {off:.1f} us without ({on - off:+.1f} us per checkout)"
    )
    rps = [_median(runs, lambda o: o.rps) for runs in outcomes]
    print(f"  recording cost, leakbench driving: {(1 - rps[0] / rps[1]) * 100:+.1f} % resp/s")
    if WRK:
        print(f"  recording cost, wrk driving: {(1 - rps[2] / rps[3]) * 100:+.1f} % resp/s")
        print(
            f"  leakbench/wrk: resp/s {rps[0] / rps[2]:.2f} with the recording on, "
            f"{rps[1] / rps[3]:.2f} with it off"
        )


def section_holders(bench: Bench) -> None:
    """What telling collected checkouts costs: the probe's weak reference to each holder."""
    rounds = bench.args.rounds
    print(
        f"\n## holders: with-session /ok with and without the probe's weak reference to each "
        f"checkout's holder (how it tells a checkout the garbage collector ended), "
        f"{bench.args.concurrency} connections, {bench.args.duration:g} s a run, "
        f"median of {rounds} round(s)"
    )
    tracked, untracked = ROUTES[0], UNTRACKED
    # The target's own CPU per response: on a shared machine throughput swings with
    # the neighbours' load, while the CPU the app spends per request does not.
    target_cpu: dict[str, list[float]] = {tracked.target: [], untracked.target: []}

    def timed(measure: Callable[[], Outcome], route: Route) -> Outcome:
        process = psutil.Process(bench.pids[route.target])
        before = sum(process.cpu_times()[:2])
        outcome = measure()
        spent = sum(process.cpu_times()[:2]) - before
        if outcome.responses:
            target_cpu[route.target].append(spent / outcome.responses * 1e6)
        return outcome

    measures = [
        partial(timed, partial(bench.driver, tracked), tracked),
        partial(timed, partial(bench.driver, untracked), untracked),
    ]
    if WRK:
        measures += [
            partial(timed, partial(bench.wrk, tracked), tracked),
            partial(timed, partial(bench.wrk, untracked), untracked),
        ]
    outcomes = _rounds(rounds, *measures)
    print(_HEADER)
    for index, label in enumerate(("holders tracked (default)", "not tracked")):
        print(f"with-session /ok, {label}")
        if WRK:
            print(_row("wrk", outcomes[index + 2]))
        print(_row("leakbench", outcomes[index]))
    on, off = _checkout_microseconds(bench, switch="track_holders")
    print(
        f"  one checkout + checkin through SQLAlchemy's pool, in this process: {on:.1f} us "
        f"with the holder tracked, {off:.1f} us without ({on - off:+.1f} us per checkout)"
    )
    rps = [_median(runs, lambda o: o.rps) for runs in outcomes]
    print(f"  tracking cost, leakbench driving: {(1 - rps[0] / rps[1]) * 100:+.1f} % resp/s")
    if WRK:
        print(f"  tracking cost, wrk driving: {(1 - rps[2] / rps[3]) * 100:+.1f} % resp/s")
    on_cpu, off_cpu = (statistics.median(target_cpu[r.target]) for r in (tracked, untracked))
    print(
        f"  the target's CPU per response (median of every run, both tools): {on_cpu:.0f} us "
        f"tracked, {off_cpu:.0f} us not: {(on_cpu / off_cpu - 1) * 100:+.1f} %, that is "
        f"{(1 - off_cpu / on_cpu) * 100:+.1f} % of the throughput a CPU-bound target would lose"
    )
    tracked_us, untracked_us = _bookkeeping_microseconds()
    added = tracked_us - untracked_us
    print(
        f"  the probe's bookkeeping per checkout + checkin (best of 7 x 20,000, the least "
        f"disturbed by the neighbours): {tracked_us:.2f} us with the holder tracked, "
        f"{untracked_us:.2f} us without: {added:+.2f} us per /ok request (one checkout), "
        f"{added / off_cpu * 100:+.3f} % of the target's {off_cpu:.0f} us of CPU per response"
    )


def _bookkeeping_microseconds(count: int = 20_000) -> tuple[float, float]:
    """The probe's own work per checkout + checkin, holders tracked and not (best of 7)."""
    import timeit  # noqa: PLC0415 - only this section needs it

    from leakbench._targets.pool_counters import PoolCounters  # noqa: PLC0415

    class Holder:  # stands for SQLAlchemy's connection fairy (weak-referenceable)
        pass

    def per_checkout(track: bool) -> float:
        counters = PoolCounters()
        counters.track_holders = track
        counters.record_sites = False  # the sites section measures those
        record, holder = object(), Holder()

        def cycle() -> None:
            counters.checked_out(record, holder)
            counters.checked_in(record)

        return min(timeit.repeat(cycle, number=count, repeat=7)) / count * 1e6

    return per_checkout(True), per_checkout(False)


def _checkout_microseconds(
    bench: Bench, count: int = 5000, switch: str = "record_sites"
) -> tuple[float, float]:
    """Mean time of ``with engine.connect(): pass`` with the probe's listeners, sites on/off.

    The probe's class-level listeners are installed in this process as in a target;
    the rounds alternate so drift on the shared machine cancels.
    """
    import psycopg  # noqa: PLC0415 - only this section needs these
    from sqlalchemy import create_engine  # noqa: PLC0415

    from leakbench._targets import probe  # noqa: PLC0415

    probe._listen_to_pools()  # what probe.install() does, without the socket
    dsn = bench.server.admin_dsn
    engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(dsn))
    timings: dict[bool, list[float]] = {True: [], False: []}
    try:
        for round_index in range(6):
            record = round_index % 2 == 0
            setattr(probe.COUNTERS, switch, record)
            started = time.perf_counter()
            for _ in range(count):
                with engine.connect():
                    pass
            timings[record].append((time.perf_counter() - started) / count * 1e6)
    finally:
        setattr(probe.COUNTERS, switch, True)
        engine.dispose()
    return statistics.median(timings[True]), statistics.median(timings[False])


def _timed_run(
    args: list[str], env: dict[str, str], stamp: Path | None
) -> tuple[float, float | None, int]:
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="lb-bench-report-") as reports:
        finished = subprocess.run(
            [sys.executable, "-m", "leakbench", "run", *args, "--report-dir", reports],
            env=env,
            capture_output=True,
            timeout=300,
            check=False,
        )
    total = time.time() - started
    first = float(stamp.read_text()) - started if stamp is not None and stamp.exists() else None
    return total, first, finished.returncode


def section_startup(bench: Bench) -> None:
    print("\n## startup: `leakbench run` (embedded PostgreSQL) to its first load request")
    app = f"{HERE / 'first_request_app.py'}:app"
    for attempt in range(bench.args.startup_runs):
        with tempfile.TemporaryDirectory() as folder:
            stamp = Path(folder) / "stamp"
            env = {**os.environ, "LEAKBENCH_BENCH_STAMP": str(stamp)}
            total, first, code = _timed_run(
                ["--app", app, "-e", "/ok", "-n", "1", "-c", "1", "--settle", "0"], env, stamp
            )
        shown = f"{first:.2f} s" if first is not None else "never (see exit code)"
        print(f"  run {attempt + 1}: first request after {shown}; exit {code} after {total:.2f} s")


def section_processes(bench: Bench) -> None:
    """1 and 2 driver processes against wrk -t2, on a target that has 2 workers."""
    rounds, cores = bench.args.rounds, len(os.sched_getaffinity(0))
    print(
        f"\n## processes: bare ASGI /raw, target with 2 uvicorn workers, {cores} cores, "
        f"{bench.args.concurrency} connections, {bench.args.duration:g} s a run, "
        f"median of {rounds} round(s)"
    )
    raw = Target("raw", "trivial_app:raw_app", kind="app", app_dir=HERE)
    with (
        tempfile.TemporaryDirectory(prefix="lb-bench-") as work,
        TargetProcess(raw, dict(os.environ), Path(work) / "raw2", workers=2) as target,
    ):
        bench = replace(bench, urls={**bench.urls, "raw2": target.base_url})
        route = Route("bare ASGI /raw, 2 workers", "raw2", "/raw")
        measures = [partial(bench.driver, route), partial(bench.driver, route, driver_processes=2)]
        if WRK:
            measures.append(partial(bench.wrk, route, threads=2))
        one, two, *others = _rounds(rounds, *measures)
    print(route.label)
    print(_HEADER)
    if others:
        print(_row("wrk -t2", others[0]))
    print(_row("lb 1 proc", one))
    print(_row("lb 2 procs", two))
    print("  (RSS is the driver's parent process only; CPU includes its driver processes)")
    if others:
        theirs = _median(others[0], lambda o: o.rps)
        for name, runs in (("1 process", one), ("2 processes", two)):
            print(
                f"  leakbench {name}/wrk -t2: resp/s {_median(runs, lambda o: o.rps) / theirs:.2f}"
            )


def section_verdict(bench: Bench) -> None:
    print("\n## verdict: the default `leakbench run --pattern both`")
    total, _, code = _timed_run(["--pattern", "both"], dict(os.environ), None)
    print(f"  verdict (exit {code}) after {total:.1f} s")


def _machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} cores ({cpu}), {system}, load average {load}"


def _wrk_version() -> str:
    if not WRK:
        return "not installed"
    text = subprocess.run([WRK, "--version"], capture_output=True, text=True, check=False).stdout
    return text.split("Copyright")[0].strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sections",
        default=",".join(DEFAULT_SECTIONS),
        help=f"comma-separated, from: {', '.join(SECTIONS)}",
    )
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measured run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per tool and route")
    parser.add_argument("--concurrency", type=int, default=300)
    parser.add_argument("--scale-connections", type=int, default=1000)
    parser.add_argument("--memory-requests", type=int, default=3000)
    parser.add_argument("--startup-runs", type=int, default=3)
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    if not 1 <= args.rounds <= 20 or not 0 < args.duration <= 60:
        parser.error(
            "keep --rounds within 1..20 and --duration within 0..60 s: the run must stay short"
        )
    print(f"machine: {_machine()}")
    if not WRK:
        print("wrk is not installed: its columns are skipped (install it: apt-get install wrk).")
    started = time.monotonic()
    with targets(args) as bench:
        v = collect(bench.server.info.version)
        print(
            f"Python {v.python}, httpx2 {v.httpx2}, uvicorn {v.uvicorn}, FastAPI {v.fastapi}, "
            f"SQLAlchemy {v.sqlalchemy}, psycopg {v.psycopg}, PostgreSQL {v.postgresql}; "
            f"wrk: {_wrk_version()}"
        )
        for name in chosen:
            try:
                globals()[f"section_{name}"](bench)
            except ChildFailed as exc:
                print(f"  {name} failed: {exc}")
    print(f"\n(total {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
