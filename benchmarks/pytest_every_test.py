"""What ``pytest --leakbench`` costs: the example service's own suite, with and without it.

A copy of examples/items-service is run by pytest in a subprocess, its test
file given ``--repeat`` times (``--keep-duplicates``) so the session is more
than interpreter start-up; each round runs both ways, in alternating order,
and the medians and the best runs are compared. Three figures per way: the
wall time of the whole ``pytest`` process, the session time pytest itself
prints (``in 1.23s``), which leaves out the interpreter's start-up and the
plugins' imports, and the CPU time the process used (user + system, from
``getrusage``), the figure least disturbed by other work on a shared machine.

    python benchmarks/pytest_every_test.py --rounds 7 --repeat 5
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "items-service"
GOAL = 0.10
_SESSION_TIME = re.compile(r" in ([0-9.]+)s")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_suite(folder: Path, repeat: int, every_test: bool) -> tuple[float, float, float, str]:
    """Wall, pytest's session and CPU seconds, and the summary line of one run."""
    tests = ["tests/test_api.py"] * repeat
    options = ["--leakbench"] if every_test else []
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
    )
    wall = time.perf_counter() - started
    cpu = _children_cpu() - cpu_before
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr
    if done.returncode != 0:
        raise SystemExit(
            f"the suite failed ({'with' if every_test else 'without'} --leakbench): {summary}"
        )
    found = _SESSION_TIME.search(summary)
    return wall, float(found.group(1)) if found else float("nan"), cpu, summary


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
        summary = ""
        for round_number in range(args.rounds):
            order = (False, True) if round_number % 2 == 0 else (True, False)
            for every_test in order:
                wall, session, cpu, summary = run_suite(folder, args.repeat, every_test)
                figures[every_test].append((wall, session, cpu))
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
