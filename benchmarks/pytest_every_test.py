"""What ``pytest --leakbench`` costs: the example service's own suite, with and without it.

A copy of examples/items-service is run by pytest in a subprocess, its test
file given ``--repeat`` times (``--keep-duplicates``) so the session is more
than interpreter start-up; each round runs both ways, in alternating order,
and the medians and the best runs are compared. Three figures per way: the
wall time of the whole ``pytest`` process, the session time pytest itself
prints (``in 1.23s``), which leaves out the interpreter's start-up and the
plugins' imports, and the CPU time the process used (user + system, from
``getrusage``), the figure least disturbed by other work on a shared machine.
One more run with ``-p plugin_timing`` (benchmarks/plugin_timing.py) times
the plugin's own code from inside: its pool listener and its teardown check.

    python benchmarks/pytest_every_test.py --rounds 7 --repeat 5
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

HERE = Path(__file__).resolve().parent
EXAMPLE = HERE.parent / "examples" / "items-service"
GOAL = 0.10
MARKER = "leakbench-plugin-timing:"  # plugin_timing.py's line
_SESSION_TIME = re.compile(r" in ([0-9.]+)s")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_suite(
    folder: Path, repeat: int, every_test: bool, *extra: str
) -> tuple[float, float, float, str]:
    """Wall, pytest's session and CPU seconds, and the output of one run."""
    tests = ["tests/test_api.py"] * repeat
    options = ["--leakbench", *extra] if every_test else []
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    cpu_before = _children_cpu()
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--keep-duplicates", *options, *tests],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONPATH": str(HERE)},
    )
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    lines = [line for line in done.stdout.splitlines() if " passed" in line] or [done.stderr]
    summary = lines[-1]
    if done.returncode != 0:
        raise SystemExit(
            f"the suite failed ({'with' if every_test else 'without'} --leakbench): {summary}"
        )
    found = _SESSION_TIME.search(summary)
    return wall, float(found.group(1)) if found else float("nan"), cpu, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=5, help="times the test file is collected")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="leakbench-bench-") as scratch:
        folder = Path(scratch) / "items-service"
        shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__", "reports"))
        run_suite(folder, 1, every_test=True)  # warm: bytecode, the OS's file cache
        figures: dict[bool, list[tuple[float, float, float]]] = {False: [], True: []}
        for round_number in range(args.rounds):
            order = (False, True) if round_number % 2 == 0 else (True, False)
            for every_test in order:
                wall, session, cpu, output = run_suite(folder, args.repeat, every_test)
                figures[every_test].append((wall, session, cpu))
        _, session, _, output = run_suite(folder, args.repeat, True, "-p", "plugin_timing")
    summary = next(line for line in reversed(output.splitlines()) if " passed" in line)
    print(
        f"examples/items-service, tests/test_api.py x{args.repeat} ({summary.split(' in ')[0]}), "
        f"{args.rounds} rounds"
    )
    for name, pick in (("median", statistics.median), ("best", min)):
        _table(
            name,
            {
                way: [pick(run[k] for run in runs) for k in range(3)]
                for way, runs in figures.items()
            },
        )
    timing_line = next(line for line in output.splitlines() if line.startswith(MARKER))
    totals = json.loads(timing_line.removeprefix(MARKER))
    inside = totals["checkout_s"] + totals["teardown_s"]
    print(
        f"inside the plugin's code (one more run, timed): {inside:.3f} s of a {session:.2f} s "
        f"session ({inside / session:.1%}): {totals['checkouts']} checkouts "
        f"{totals['checkout_s'] * 1e3:.0f} ms, {totals['tests']} teardowns "
        f"{totals['teardown_s'] * 1e3:.0f} ms"
    )


def _table(name: str, figures: dict[bool, list[float]]) -> None:
    """One line per way and the growth; the best run is the one other work disturbed least."""
    print(f"{name:16}{'wall s':>10}{'session s':>12}{'CPU s':>10}")
    for every_test, label in ((False, "  pytest"), (True, "  --leakbench")):
        wall, session, cpu = figures[every_test]
        print(f"{label:16}{wall:>10.2f}{session:>12.2f}{cpu:>10.2f}")
    growth = [figures[True][k] / figures[False][k] - 1 for k in range(3)]
    print(
        f"{'  growth':16}{growth[0]:>+10.1%}{growth[1]:>+12.1%}{growth[2]:>+10.1%}"
        f"   (goal: under {GOAL:.0%})"
    )


if __name__ == "__main__":
    main()
