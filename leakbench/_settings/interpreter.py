"""Which Python runs the app under test: ``--python``, the active venv, one beside the settings.

The choice, first that applies:

1. ``--python PATH``;
2. the active virtual environment (``VIRTUAL_ENV``);
3. a ``.venv`` beside the project's settings file (leakbench.toml or
   pyproject.toml with ``[tool.leakbench]``);
4. leakbench's own interpreter.

A chosen interpreter other than leakbench's own gets leakbench's target side
on its ``PYTHONPATH`` when the target starts
(:func:`leakbench._targets.interpreter.with_target_code`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from leakbench._settings._targets import TargetInterpreter
from leakbench.errors import UsageError


@dataclass(frozen=True, slots=True)
class Choice:
    """The interpreter chosen for the targets and why (shown when it is not leakbench's)."""

    executable: Path
    reason: str

    @property
    def is_own(self) -> bool:
        """True when it is leakbench's own interpreter (nothing to copy or check outside)."""
        return _same_environment(self.executable)


def choose(python: Path | None, settings_file: Path | None, environ: Mapping[str, str]) -> Choice:
    """The interpreter for spawned targets; a UsageError if ``--python`` names no Python."""
    if python is not None:
        executable = _executable(python)
        if executable is None:
            raise UsageError(
                f"--python {python}: no Python interpreter there; give the path of the "
                "project's Python (e.g. .venv/bin/python) or of its virtual environment."
            )
        return Choice(executable, "--python")
    active = environ.get("VIRTUAL_ENV")
    if active:
        executable = _executable(Path(active))
        if executable is None:
            raise UsageError(
                f"VIRTUAL_ENV={active} has no bin/python; activate an existing environment, "
                "deactivate it, or give --python PATH."
            )
        return Choice(executable, "the active VIRTUAL_ENV")
    if settings_file is not None:
        beside = settings_file.parent / ".venv"
        executable = _executable(beside)
        if executable is not None:
            return Choice(executable, f"{beside}, beside {settings_file.name}")
    return Choice(Path(sys.executable), "leakbench's own")


def target_interpreter(choice: Choice) -> TargetInterpreter:
    """How targets are started on ``choice``: as is, or with leakbench's target side added."""
    if choice.is_own:
        return TargetInterpreter.current()
    return TargetInterpreter(str(choice.executable), target_code=True)


def _executable(path: Path) -> Path | None:
    """``path`` if it is a Python, or its ``bin/python`` if it is an environment's folder."""
    candidate = path / "bin" / "python" if path.is_dir() else path
    if candidate.is_file() and os.access(candidate, os.X_OK):
        # abspath folds ".." but keeps links: a venv's python is a link out of the venv.
        return Path(os.path.abspath(candidate))  # noqa: PTH100
    return None


def _same_environment(executable: Path) -> bool:
    """Whether ``executable`` runs leakbench's own environment (its venv or its Python)."""
    if executable == Path(os.path.abspath(sys.executable)):  # noqa: PTH100 - as _executable
        return True
    environment = executable.parent.parent
    return (environment / "pyvenv.cfg").is_file() and environment.resolve() == Path(
        sys.prefix
    ).resolve()
