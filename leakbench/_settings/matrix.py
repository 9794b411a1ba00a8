"""``leakbench matrix``'s settings: the axes (``--versions fastapi=0.104.1,latest``) and more.

:class:`MatrixConfig` holds a run's configuration and the versions to run it on.
Pure: parsing, the requirement lines of one combination's environment, and
whether a target's declared minimum versions hold in it. Version strings and
specifiers are parsed by ``packaging``, the library pip and uv follow.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from leakbench._settings import RunConfig
from leakbench.errors import UsageError

LATEST = "latest"
# What every target environment holds: the shipped scenarios' stack, and the
# server leakbench's boot module runs (uvicorn with uvloop and httptools, as in
# leakbench's own environment, so every column runs the same event loop).
TARGET_STACK = (
    "fastapi",
    "sqlalchemy[asyncio]",
    "sqlmodel",
    "psycopg[binary]",
    "uvicorn[standard]",
)
# The driver axis (``--versions driver=psycopg,psycopg2``) picks the DBAPI driver of the
# scenarios' sync engine (their async engine stays on psycopg 3, as psycopg2 has no asyncio),
# and installs it; ``driver=asyncpg`` installs asyncpg for the scenarios whose async engine
# is on it (cancelled-asyncpg), the others showing n/a.
DRIVER_AXIS = "driver"
DRIVERS = {"psycopg": "psycopg[binary]", "psycopg2": "psycopg2-binary", "asyncpg": "asyncpg"}
# A bound on the work one command may ask for: each combination is a full run.
MAX_COMBINATIONS = 24
_AXIS = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==?\s*(.*)$")
_OPERATORS = ("<", ">", "=", "!", "~")


@dataclass(frozen=True, slots=True)
class Axis:
    """One package and the versions to try it at, in the order given."""

    package: str
    versions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Combination:
    """One column: a version asked for each axis, as (package, version) pairs."""

    pins: tuple[tuple[str, str], ...]

    @property
    def driver(self) -> str | None:
        """The driver axis' value, if there is one."""
        return dict(self.pins).get(DRIVER_AXIS)

    @property
    def label(self) -> str:
        """``fastapi 0.104.1, sqlalchemy latest``: how errors and progress lines name it."""
        return ", ".join(f"{package} {version}" for package, version in self.pins)

    @property
    def slug(self) -> str:
        """A folder name for the column's reports: ``fastapi-0.104.1_sqlalchemy-latest``."""
        parts = (f"{package}-{version}" for package, version in self.pins)
        return re.sub(r"[^A-Za-z0-9._-]+", "", "_".join(parts)) or "default"


def _specifier(package: str, version: str) -> str:
    """``0.104.1`` pins exactly, ``latest`` leaves it open, ``<0.106`` is used as given."""
    if version == LATEST:
        return ""
    if version.startswith(_OPERATORS):
        try:
            return str(SpecifierSet(version))
        except InvalidSpecifier:
            raise UsageError(
                f"--versions {package}={version}: {version!r} is not a version specifier; "
                "give a version such as 0.104.1, 'latest', or one specifier such as <0.106."
            ) from None
    try:
        Version(version)
    except InvalidVersion:
        raise UsageError(
            f"--versions {package}={version}: {version!r} is not a version; "
            "give a version such as 0.104.1, 'latest', or one specifier such as <0.106."
        ) from None
    return f"=={version}"


def parse_axis(text: str) -> Axis:
    """``fastapi=0.104.1,0.120.0,latest`` -> Axis("fastapi", ("0.104.1", "0.120.0", "latest"))."""
    match = _AXIS.match(text)
    if match is None:
        raise UsageError(
            f"--versions {text!r} is malformed; write PACKAGE=V1,V2 such as fastapi=0.104.1,latest."
        )
    package = canonicalize_name(match.group(1))
    versions = tuple(v.strip() for v in match.group(2).split(",") if v.strip())
    if not versions:
        raise UsageError(
            f"--versions {text!r} names no version; write {package}=V1,V2 such as "
            f"{package}=0.104.1,latest."
        )
    for version in versions:
        if package == DRIVER_AXIS:
            if version not in DRIVERS:
                raise UsageError(
                    f"--versions driver={version}: unknown driver {version!r}; "
                    f"choose among {', '.join(DRIVERS)}."
                )
        else:
            _specifier(package, version)
    if len(set(versions)) != len(versions):
        raise UsageError(f"--versions {text!r} names a version twice; give each once.")
    return Axis(package, versions)


def parse_axes(texts: Sequence[str]) -> tuple[Axis, ...]:
    """Every ``--versions``; a package may be given once."""
    if not texts:
        raise UsageError(
            "leakbench matrix needs at least one --versions PACKAGE=V1,V2, "
            "such as --versions fastapi=0.104.1,latest."
        )
    axes = tuple(parse_axis(text) for text in texts)
    names = [axis.package for axis in axes]
    for name in names:
        if names.count(name) > 1:
            raise UsageError(
                f"--versions {name} is given twice; list all its versions in one option, "
                f"such as {name}=V1,V2."
            )
    return axes


def combinations(axes: Sequence[Axis]) -> tuple[Combination, ...]:
    """Every combination, the first axis varying slowest (the order the columns show)."""
    count = 1
    for axis in axes:
        count *= len(axis.versions)
    if count > MAX_COMBINATIONS:
        raise UsageError(
            f"The --versions given make {count} combinations; at most {MAX_COMBINATIONS} "
            "are run in one command. Give fewer versions."
        )
    return tuple(
        Combination(tuple(zip((a.package for a in axes), chosen, strict=True)))
        for chosen in itertools.product(*(axis.versions for axis in axes))
    )


def parse_extra_requirement(text: str) -> str:
    """A ``--with`` requirement (``httpx>=0.27``), checked and returned as given."""
    try:
        Requirement(text)
    except InvalidRequirement as exc:
        raise UsageError(
            f"--with {text!r} is not a requirement ({exc}); write one such as 'httpx>=0.27'."
        ) from None
    return text.strip()


def requirements(combination: Combination, extra: Iterable[str] = ()) -> tuple[str, ...]:
    """The requirement lines of the combination's environment, pins taking precedence."""
    pinned = {
        package: _specifier(package, version)
        for package, version in combination.pins
        if package != DRIVER_AXIS
    }
    driver = combination.driver
    lines: list[str] = []
    seen: set[str] = set()
    for text in (*TARGET_STACK, *((DRIVERS[driver],) if driver else ()), *extra):
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        if name in seen:  # the driver psycopg is in the stack already
            continue
        if name in pinned:
            extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
            lines.append(f"{requirement.name}{extras}{pinned[name]}")
        else:
            lines.append(str(requirement))
        seen.add(name)
    lines.extend(f"{package}{spec}" for package, spec in pinned.items() if package not in seen)
    return tuple(lines)


def unmet_requirement(
    requires: Iterable[tuple[str, str]],
    installed: Mapping[str, str],
    *,
    driver: str | None = None,
    drivers: Sequence[str] = (),
) -> str | None:
    """Why a target cannot run on ``installed`` (package -> version), or None if it can.

    ``drivers`` are those the target's database URL can follow (empty: it picks its own).
    """
    if driver is not None and drivers and driver not in drivers:
        return f"needs driver {' or '.join(drivers)}, not {driver}"
    for package, specifier in requires:
        name = canonicalize_name(package)
        version = installed.get(name)
        if version is None:
            return f"needs {package}{specifier}, not installed"
        if not SpecifierSet(specifier).contains(version, prereleases=True):
            return f"needs {package}{specifier}, has {version}"
    return None


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/leakbench/envs``, else ``~/.cache/leakbench/envs``."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "leakbench" / "envs"


@dataclass(frozen=True, slots=True)
class MatrixConfig:
    """A run's settings, and the versions to run them on."""

    run: RunConfig
    axes: tuple[Axis, ...]
    # More requirements for every environment (--with), e.g. what a user's --app imports.
    extra_requirements: tuple[str, ...] = ()
    env_cache: Path = field(default_factory=default_cache_dir)

    def __post_init__(self) -> None:
        if self.run.attach is not None:
            raise UsageError(
                "leakbench matrix starts each target itself on each combination's versions; "
                "--url (attach mode) cannot be combined with it."
            )
