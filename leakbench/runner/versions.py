"""The versions leak behaviour depends on, recorded in every report."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from collections.abc import Mapping
from importlib import metadata

from leakbench.config import RunConfig, TargetInterpreter
from leakbench.errors import TargetStartError
from leakbench.postgres.server import Server
from leakbench.results import Versions

# The distributions a report records, read inside another interpreter.
RECORDED_PACKAGES = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "sqlmodel",
    "psycopg",
    "psycopg2-binary",
    "uvicorn",
    "httpx2",
)

_VERSIONS_SCRIPT = """
import json, platform, sys
from importlib import metadata
def version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
names = json.loads(sys.argv[1])
print(json.dumps({"python": platform.python_version(), **{n: version(n) for n in names}}))
"""


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def collect(postgresql: str = "unknown") -> Versions:
    """Versions of this interpreter and the installed stack (the targets share it)."""
    return Versions(
        python=platform.python_version(),
        fastapi=_version("fastapi"),
        starlette=_version("starlette"),
        sqlalchemy=_version("sqlalchemy"),
        sqlmodel=_version("sqlmodel"),
        psycopg=_version("psycopg"),
        uvicorn=_version("uvicorn"),
        httpx2=_version("httpx2"),
        leakbench=_version("leakbench"),
        postgresql=postgresql,
    )


def collect_from(packages: Mapping[str, str], postgresql: str = "unknown") -> Versions:
    """Versions another interpreter reported (a matrix environment's); leakbench's own."""

    def get(name: str) -> str:
        return packages.get(name, "not installed")

    return Versions(
        python=get("python"),
        fastapi=get("fastapi"),
        starlette=get("starlette"),
        sqlalchemy=get("sqlalchemy"),
        sqlmodel=get("sqlmodel"),
        psycopg=get("psycopg"),
        uvicorn=get("uvicorn"),
        # The load driver runs in leakbench's own process, so its client is ours.
        httpx2=_version("httpx2"),
        leakbench=_version("leakbench"),
        postgresql=postgresql,
    )


def interpreter_packages(interpreter: TargetInterpreter) -> dict[str, str]:
    """Python's and the recorded packages' versions as ``interpreter`` sees them."""
    try:
        completed = subprocess.run(
            [interpreter.executable, "-c", _VERSIONS_SCRIPT, json.dumps(RECORDED_PACKAGES)],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env=interpreter.environment(os.environ),
        )
        answer = json.loads(completed.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        raise TargetStartError(
            f"The target interpreter {interpreter.executable} could not report its package "
            f"versions ({exc}); rebuild its environment."
        ) from None
    return {str(key): str(value) for key, value in answer.items()}


def versions_for(config: RunConfig, server: Server) -> Versions:
    """The versions the targets ran on: leakbench's own, or their interpreter's."""
    if config.interpreter is None or config.interpreter.is_current:
        return collect(server.info.version)
    return collect_from(interpreter_packages(config.interpreter), server.info.version)
