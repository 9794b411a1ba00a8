"""The versions leak behaviour depends on, recorded in every report.

A spawned target's are the app's: read in the target process by the probe
(``versions``), or, when no target answered, by the interpreter check made
before the run (:func:`leakbench._targets.interpreter.check`); a kind of target
hands them over as :attr:`~leakbench._targets.handle.Targets.app_versions`.
Only leakbench's own version and the load driver's client (httpx2, in
leakbench's process) are leakbench's. An app leakbench did not start (attach,
watch) is recorded with leakbench's own stack, the only one it can read.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from importlib import metadata

from leakbench._postgres.server import Server
from leakbench._results import Versions


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def collect(postgresql: str = "unknown") -> Versions:
    """Versions of leakbench's own interpreter and the stack installed beside it."""
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
    """Versions the target's interpreter reported; leakbench's own and its load client's."""

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


def versions_for(app_versions: Mapping[str, str] | None, server: Server) -> Versions:
    """The versions the targets ran on: the app's when known, else leakbench's own."""
    if app_versions is None:
        return collect(server.info.version)
    return collect_from(app_versions, server.info.version)
