"""The local wheelhouse the matrix and packaging tests install from, never the package index.

``python -m tests.integration.wheelhouse`` (run by scripts/test.sh) downloads,
once, every wheel the test matrix's environments need into
the test cache's ``wheelhouse`` folder; the tests then point uv at it with no index
at all (``UV_NO_INDEX``, ``UV_FIND_LINKS``) and keep uv's cache and the built
environments in the test cache too. The test cache is ``$LEAKBENCH_TEST_CACHE``,
else ``leakbench-tests`` in the user's cache folder (as pip keeps its downloads):
a fresh clone on a machine that ran the tests before reuses it.

The packaging test (tests/integration/test_wheel.py) builds leakbench's wheel
and installs it, with its own dependencies and the scenarios' extra, into a
fresh environment, and next to an app pinned to older versions
(:data:`APP_PINS`): those wheels, and the build backend's, are here too.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

from leakbench._settings.matrix import combinations, parse_axes, requirements

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(
    os.environ.get("LEAKBENCH_TEST_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "leakbench-tests"
)
WHEELHOUSE = CACHE / "wheelhouse"
UV_CACHE = CACHE / "uv"
ENV_CACHE = CACHE / "matrix-envs"
# The test matrix: the oldest supported FastAPI and SQLAlchemy, and both sides of
# FastAPI 0.118 (which moved the exit of yield dependencies back after background tasks).
TEST_VERSIONS = ("fastapi=0.95.2,0.117.1,0.118.0", "sqlalchemy=2.0.14")
# The driver axis: psycopg2 next to the newest of those.
DRIVER_VERSIONS = ("fastapi=0.118.0", "sqlalchemy=2.0.14", "driver=psycopg2")
# The probe on SQLAlchemy 1.4, under an app of the user's (the scenarios need 2.0.14).
PROBE_VERSIONS = ("fastapi=0.95.2", "sqlalchemy=1.4.54", "driver=psycopg2")
# sqlalchemy/sqlalchemy#12077 before and after its fix, on an asyncpg that still shows it.
CANCEL_VERSIONS = ("driver=asyncpg", "sqlalchemy=2.0.37,2.0.38", "asyncpg=0.30.0")
# An app's own environment, pinned to versions older than leakbench's scenarios need.
APP_PINS = ("fastapi==0.110.0", "sqlalchemy==2.0.25", "uvicorn==0.29.0", "psycopg[binary]")
_READY = WHEELHOUSE / "READY"


def leakbench_requirements() -> tuple[str, ...]:
    """What installing leakbench[scenarios] needs, and its build backend (pyproject.toml)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return (
        *project["build-system"]["requires"],
        *project["project"]["dependencies"],
        *project["project"]["optional-dependencies"]["scenarios"],
    )


def _wanted() -> list[tuple[str, ...]]:
    return [
        *(
            requirements(c)
            for axes in (TEST_VERSIONS, DRIVER_VERSIONS, PROBE_VERSIONS, CANCEL_VERSIONS)
            for c in combinations(parse_axes(list(axes)))
        ),
        leakbench_requirements(),
        (*APP_PINS, "pip"),  # pip: the test installs the wheel into the app's venv with it
    ]


def _fingerprint() -> str:
    return hashlib.sha256(repr(_wanted()).encode()).hexdigest()


def is_ready() -> bool:
    return _READY.is_file() and _READY.read_text().strip() == _fingerprint()


def prepare() -> None:
    """Download what is missing (pip skips wheels already there); a no-op once ready."""
    if is_ready():
        return
    WHEELHOUSE.mkdir(parents=True, exist_ok=True)
    for lines in _wanted():
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "-qq"),
                *("--only-binary", ":all:", "--dest", str(WHEELHOUSE), *lines),
            ],
            check=True,
        )
    _READY.write_text(_fingerprint() + "\n")


if __name__ == "__main__":
    prepare()
    print(f"wheelhouse ready: {WHEELHOUSE}")
