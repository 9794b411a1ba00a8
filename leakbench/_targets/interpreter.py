"""Which Python runs the app under test, and the part of leakbench loaded into it.

leakbench lives in its own environment (``pipx install``, ``uv tool
install``) and the app in its own: a spawned target and its ``--setup-cmd``
commands run on the project's interpreter, so the app is tested on the
versions it runs in production. The choice, first that applies:

1. ``--python PATH``;
2. the active virtual environment (``VIRTUAL_ENV``);
3. a ``.venv`` beside the project's settings file (leakbench.toml or
   pyproject.toml with ``[tool.leakbench]``);
4. leakbench's own interpreter.

The project's environment does not hold leakbench, so the target side of
leakbench (the boot module, the probe, the shipped scenarios: standard
library only, plus the app's uvicorn) is copied into a folder that goes
first on the target's ``PYTHONPATH``, as ``leakbench matrix`` does for its
environments. The copy is named by a hash of its content and kept in
leakbench's cache, so it is made once per leakbench version.

:func:`check` asks the chosen interpreter, once before anything starts,
for its Python version, whether it can import uvicorn, and the recorded
packages' versions (the report's, if no target ever answers).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leakbench._settings import TargetInterpreter
from leakbench._targets.probe import RECORDED_PACKAGES
from leakbench._targets.probe import versions as probe_versions
from leakbench.errors import RunError

# The modules a target imports from leakbench: the standard library and uvicorn only
# (tests/integration/test_target_interpreter.py proves it where the rest cannot be imported).
TARGET_SIDE = (
    "__init__.py",
    "_targets/__init__.py",
    "_targets/boot.py",
    "_targets/pool_counters.py",
    "_targets/probe.py",
    "_targets/psycopg_pools.py",
    "_targets/sites.py",
)
SCENARIOS = "scenarios"
# The oldest Python the target side runs on (dataclass slots).
OLDEST_PYTHON = (3, 10)
_CHECK_TIMEOUT = 60.0
_CHECK_SCRIPT = """
import json, platform, sys
from importlib import metadata, util
def version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
names = json.loads(sys.argv[1])
print(json.dumps({
    "python": platform.python_version(),
    "version_info": list(sys.version_info[:2]),
    "uvicorn": util.find_spec("uvicorn") is not None,
    "packages": {n: version(n) for n in names},
}))
"""


@dataclass(frozen=True, slots=True)
class InterpreterReport:
    """What the chosen interpreter said about itself before the run."""

    executable: str
    python: str
    packages: Mapping[str, str]


def check(interpreter: TargetInterpreter) -> InterpreterReport:
    """Ask ``interpreter`` for its versions; a RunError if it cannot serve the app (no uvicorn)."""
    if interpreter.is_current:  # leakbench's own: asked here, without starting a Python
        answer: dict[str, Any] = {
            "python": platform.python_version(),
            "version_info": list(sys.version_info[:2]),
            "uvicorn": importlib.util.find_spec("uvicorn") is not None,
            "packages": probe_versions(),
        }
    else:
        answer = _ask(interpreter)
    where = _described(interpreter)
    if tuple(answer["version_info"]) < OLDEST_PYTHON:
        oldest = ".".join(map(str, OLDEST_PYTHON))
        raise RunError(
            f"{where} is Python {answer['python']}; leakbench's probe needs Python {oldest} "
            "or newer in the app's environment."
        )
    if not answer["uvicorn"]:
        remedy = (
            "install leakbench[scenarios] for the built-in scenarios, or run the app on its "
            "project's interpreter (--python PATH)"
            if interpreter.is_current
            else f"install it there ({interpreter.executable} -m pip install uvicorn) "
            "or choose another with --python PATH"
        )
        raise RunError(f"{where} has no uvicorn, which leakbench starts the app with; {remedy}.")
    packages = {str(k): str(v) for k, v in answer["packages"].items()}
    packages["python"] = str(answer["python"])
    return InterpreterReport(interpreter.executable, packages["python"], packages)


def _ask(interpreter: TargetInterpreter) -> dict[str, Any]:
    """The check script's answer from another interpreter."""
    try:
        completed = subprocess.run(
            [interpreter.executable, "-c", _CHECK_SCRIPT, json.dumps(RECORDED_PACKAGES)],
            capture_output=True,
            text=True,
            timeout=_CHECK_TIMEOUT,
            check=True,
            env=interpreter.environment(os.environ),
        )
        answer = json.loads(completed.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise RunError(
            f"The app's interpreter {interpreter.executable} did not start ({_reason(exc)}); "
            "give a working one with --python PATH."
        ) from None
    if not isinstance(answer, dict):
        raise RunError(f"The app's interpreter {interpreter.executable} gave no versions.")
    return answer


def with_target_code(interpreter: TargetInterpreter) -> TargetInterpreter:
    """``interpreter``, with leakbench's target side first on ``PYTHONPATH`` if it asks."""
    if not interpreter.target_code:
        return interpreter
    return dataclasses.replace(
        interpreter,
        pythonpath=(str(target_code_dir()), *interpreter.pythonpath),
        target_code=False,
    )


def target_code_dir(cache: Path | None = None) -> Path:
    """A folder holding leakbench's target side as a ``leakbench`` package, made once."""
    package = Path(__file__).resolve().parents[1]
    sources = [(name, package / name) for name in TARGET_SIDE]
    scenarios = package / SCENARIOS
    sources += [(f"{SCENARIOS}/{path.name}", path) for path in sorted(scenarios.glob("*.py"))]
    digest = hashlib.sha256()
    for name, path in sources:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    root = (cache or _default_cache()) / digest.hexdigest()[:16]
    if (root / "leakbench" / "__init__.py").is_file():
        return root
    building = root.with_name(f".building-{root.name}-{os.getpid()}")
    shutil.rmtree(building, ignore_errors=True)
    try:
        for name, path in sources:
            destination = building / "leakbench" / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
        with contextlib.suppress(OSError):  # another run made the same folder meanwhile
            building.rename(root)
    except OSError as exc:
        raise RunError(
            f"Cannot write leakbench's target code into {root.parent} ({exc.strerror}); "
            "make the folder writable or set XDG_CACHE_HOME to one that is."
        ) from None
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return root


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "leakbench" / "target-code"


def _described(interpreter: TargetInterpreter) -> str:
    if interpreter.is_current:
        return f"leakbench's own interpreter ({interpreter.executable})"
    return f"The app's interpreter {interpreter.executable}"


def _reason(exc: Exception) -> str:
    if isinstance(exc, subprocess.CalledProcessError):
        lines = (exc.stderr or "").strip().splitlines()
        return lines[-1] if lines else f"exit code {exc.returncode}"
    if isinstance(exc, subprocess.TimeoutExpired):
        return f"no answer within {_CHECK_TIMEOUT:g} s"
    return str(exc)
