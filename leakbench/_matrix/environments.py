"""One virtual environment per combination, built with uv and cached by what it holds.

For each combination the requirement lines are resolved with ``uv pip
compile`` into exact pins (the *resolved set*). The environment's folder is
named after a hash of those pins and the interpreter, so a second run of the
same matrix finds it and starts at once, and two combinations that resolve
to the same set share one. A new environment is built with ``uv venv`` and
``uv pip sync`` (hard links from uv's own cache) in a temporary folder that is
renamed into place only once complete: a build that is interrupted or fails
leaves nothing a later run could mistake for an environment.

uv comes from the ``uv`` Python package, a dependency of leakbench. It reads
its own settings from the environment (``UV_CACHE_DIR``, ``UV_DEFAULT_INDEX``,
``UV_FIND_LINKS``, ``UV_NO_INDEX``, ``UV_OFFLINE``), which leakbench passes on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from leakbench._settings.matrix import Combination
from leakbench.errors import EnvironmentBuildError, UnsatisfiableVersionsError

MARKER = "leakbench-env.json"
LOCK = "requirements.lock"
_RESOLVE_TIMEOUT = 300.0
_INSTALL_TIMEOUT = 900.0
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")
_LONGEST_CAUSE = 400


@dataclass(frozen=True, slots=True)
class Environment:
    """A ready environment for one combination."""

    combination: Combination
    python: Path
    # The resolved set: (canonical package name, version), sorted by name.
    packages: tuple[tuple[str, str], ...]
    key: str
    reused: bool
    # Resolving and (unless reused) building, in seconds.
    seconds: float

    def version(self, package: str) -> str | None:
        return dict(self.packages).get(canonicalize_name(package))


def find_uv() -> str:
    """The uv binary shipped in the ``uv`` package leakbench depends on."""
    try:
        import uv  # noqa: PLC0415 - needed only by leakbench matrix

        return uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        raise EnvironmentBuildError(
            "leakbench matrix needs uv, which comes with leakbench's 'uv' dependency; "
            "reinstall leakbench (pip install leakbench) to get it."
        ) from None


def one_line_error(stderr: str) -> str:
    """uv's error and its causes, in one line."""
    parts = []
    for raw in stderr.splitlines():
        line = raw.strip()
        for prefix in ("error:", "cause:", "Caused by:", "\u00d7", "\u2570\u2500\u25b6"):
            if line.startswith(prefix):
                line = line[len(prefix) :].strip()
        if line.startswith("No solution found"):  # the causes say why
            continue
        if line and not line.startswith(("hint:", "help:", "warning:")):
            parts.append(line.rstrip("."))
    text = re.sub(r"\s+", " ", "; ".join(parts)) or "uv gave no reason"
    return text if len(text) <= _LONGEST_CAUSE else text[: _LONGEST_CAUSE - 3] + "..."


def parse_pins(lock: str) -> tuple[tuple[str, str], ...]:
    """``name==version`` lines of a lock, as sorted (canonical name, version) pairs."""
    pins = {}
    for line in lock.splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return tuple(sorted(pins.items()))


class EnvironmentCache:
    """Builds and finds the environments under ``root``."""

    def __init__(self, root: Path, *, python: str | None = None, uv: str | None = None) -> None:
        self.root = root
        self.python = python or sys.executable
        self._uv = uv

    @property
    def uv(self) -> str:
        if self._uv is None:
            self._uv = find_uv()
        return self._uv

    def _call(
        self, args: Sequence[str], *, stdin: str | None = None, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.uv, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            # uv's own variables (cache, index, offline) pass through; a VIRTUAL_ENV
            # of the shell must not redirect it, as every call names its --python.
            env={k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"},
        )

    def resolve(self, combination: Combination, requirements: Sequence[str]) -> str:
        """The exact pins for ``requirements`` on leakbench's Python, or a one-line error."""
        args = [
            *("pip", "compile", "-", "--python", self.python),
            *("--no-header", "--no-annotate", "--quiet"),
        ]
        stdin = "\n".join(requirements) + "\n"
        try:
            done = self._call(args, stdin=stdin, timeout=_RESOLVE_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise EnvironmentBuildError(
                f"Resolving the combination {combination.label} took over "
                f"{_RESOLVE_TIMEOUT:g} s; is the package index reachable?"
            ) from None
        if done.returncode == 0:
            return done.stdout
        reason = one_line_error(done.stderr)
        if "No solution found" in done.stderr:
            raise UnsatisfiableVersionsError(
                f"The combination {combination.label} cannot be installed: {reason}. "
                "Change its --versions (see pip index versions PACKAGE)."
            )
        # The index did not answer: what uv has cached may still resolve it.
        offline = self._call([*args, "--offline"], stdin=stdin, timeout=_RESOLVE_TIMEOUT)
        if offline.returncode == 0:
            return offline.stdout
        raise EnvironmentBuildError(
            f"Could not resolve the combination {combination.label}: {reason}. "
            "Check that the package index is reachable (uv reads UV_DEFAULT_INDEX, "
            "UV_FIND_LINKS and UV_OFFLINE)."
        )

    def key(self, pins: Sequence[tuple[str, str]]) -> str:
        """Names an environment: the interpreter's version and platform, and the pins."""
        material = json.dumps(
            {
                "python": platform.python_version(),
                "implementation": sys.implementation.name,
                "platform": f"{sys.platform}-{platform.machine()}",
                "pins": list(pins),
            },
            sort_keys=True,
        )
        return hashlib.sha256(material.encode()).hexdigest()[:16]

    def prepare(self, combination: Combination, requirements: Sequence[str]) -> Environment:
        """The combination's environment: reused if it exists, else built now."""
        started = time.monotonic()
        lock = self.resolve(combination, requirements)
        pins = parse_pins(lock)
        key = self.key(pins)
        folder = self.root / key
        reused = (folder / MARKER).is_file() and _python_of(folder).exists()
        if not reused:
            self._build(combination, folder, lock, pins)
        return Environment(
            combination=combination,
            python=_python_of(folder),
            packages=pins,
            key=key,
            reused=reused,
            seconds=time.monotonic() - started,
        )

    def _build(
        self, combination: Combination, folder: Path, lock: str, pins: Sequence[tuple[str, str]]
    ) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise EnvironmentBuildError(
                f"Cannot create the environment cache {self.root} ({exc.strerror}); "
                "give a writable --env-cache folder."
            ) from None
        building = self.root / f".building-{folder.name}-{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        try:
            self._run_step(
                combination,
                ["venv", "--quiet", "--relocatable", "--python", self.python, str(building)],
            )
            (building / LOCK).write_text(lock, encoding="utf-8")
            self._run_step(
                combination,
                [
                    *("pip", "sync", "--quiet", "--python", str(_python_of(building))),
                    str(building / LOCK),
                ],
            )
            marker = {"combination": dict(combination.pins), "packages": dict(pins)}
            (building / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
            try:
                building.rename(folder)
            except OSError:
                # Another run built the same set meanwhile; its environment is as good.
                if not (folder / MARKER).is_file():
                    raise
        finally:
            with contextlib.suppress(OSError):
                shutil.rmtree(building, ignore_errors=True)

    def _run_step(self, combination: Combination, args: list[str]) -> None:
        try:
            done = self._call(args, timeout=_INSTALL_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise EnvironmentBuildError(
                f"Installing the combination {combination.label} took over "
                f"{_INSTALL_TIMEOUT:g} s; is the package index reachable?"
            ) from None
        if done.returncode != 0:
            reason = one_line_error(done.stderr)
            raise EnvironmentBuildError(
                f"Could not install the combination {combination.label}: {reason}."
            )


def _python_of(folder: Path) -> Path:
    return folder / "bin" / "python"
