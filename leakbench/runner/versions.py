"""The versions leak behaviour depends on, recorded in every report."""

from __future__ import annotations

import platform
from importlib import metadata

from leakbench.results import Versions


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
