"""Wall time of ``leakbench run --all-routes``: the example service and a 20-operation API.

Each run is a ``leakbench run`` process of its own, timed from outside, start to
exit (embedded PostgreSQL, the app's set-up, every route's row, the reports).
Side by side: the routes sharing one target process (the default) and each
route on a target of its own (``--isolate``, how rows ran before), in the same
session, so the machine's load is the same for both. The goal: a template-sized
API (about 20 operations) judged in about a minute on a 2-core machine.

    python benchmarks/all_routes.py [--sections example,twenty] [--isolate]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "items-service"
TWENTY = Path(__file__).resolve().parent / "twenty_routes_app.py"


@dataclass(frozen=True)
class Measured:
    name: str
    mode: str
    seconds: float
    exit_code: int
    routes: int
    verdicts: dict[str, int]


def _leakbench(args: list[str], cwd: Path, report: Path) -> tuple[float, int, dict[str, object]]:
    command = [sys.executable, "-m", "leakbench", "run", "--no-live", "--report-dir", str(report)]
    started = time.monotonic()
    done = subprocess.run(
        [*command, *args], cwd=cwd, capture_output=True, text=True, timeout=900, check=False
    )
    seconds = time.monotonic() - started
    path = report / "report.json"
    if not path.is_file():
        raise SystemExit(f"leakbench exited {done.returncode} without a report:\n{done.stderr}")
    return seconds, done.returncode, json.loads(path.read_text())


def measure(name: str, args: list[str], cwd: Path, isolate: bool) -> Measured:
    with tempfile.TemporaryDirectory(prefix="bench-routes-") as folder:
        extra = ["--isolate"] if isolate else []
        seconds, code, report = _leakbench([*args, *extra], cwd, Path(folder) / "report")
    rows = report["rows"]
    assert isinstance(rows, list)
    verdicts: dict[str, int] = {}
    for row in rows:
        verdicts[row["verdict"]] = verdicts.get(row["verdict"], 0) + 1
    mode = "--isolate" if isolate else "shared target"
    return Measured(name, mode, seconds, code, len(rows), verdicts)


def _example(isolate: bool) -> Measured:
    with tempfile.TemporaryDirectory(prefix="bench-example-") as folder:
        copy = Path(folder) / "items-service"
        shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns("__pycache__", "reports"))
        return measure("examples/items-service", ["--all-routes"], copy, isolate)


def _twenty(isolate: bool) -> Measured:
    args = ["--app", f"{TWENTY}:app", "--all-routes", "--destructive"]
    return measure("twenty_routes_app (20 operations)", args, ROOT, isolate)


SECTIONS = {"example": _example, "twenty": _twenty}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", default="example,twenty", help="comma-separated")
    parser.add_argument(
        "--isolate", action="store_true", help="also time each section with --isolate"
    )
    options = parser.parse_args()
    print(f"# leakbench run --all-routes, wall time ({os.cpu_count()} cores)")
    print(f"{'target':<36} {'mode':<14} {'routes':>6} {'wall s':>7} {'s/route':>8}  verdicts")
    for section in options.sections.split(","):
        for isolate in (False, True) if options.isolate else (False,):
            m = SECTIONS[section.strip()](isolate)
            verdicts = ", ".join(f"{count} {verdict}" for verdict, count in m.verdicts.items())
            print(
                f"{m.name:<36} {m.mode:<14} {m.routes:>6} {m.seconds:>7.1f} "
                f"{m.seconds / max(m.routes, 1):>8.2f}  {verdicts} (exit {m.exit_code})",
                flush=True,
            )


if __name__ == "__main__":
    main()
