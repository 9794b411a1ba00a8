"""Imported by Python at start-up in every process ``leakbench probe`` runs: starts the probe.

Only the probe and the standard library are imported from leakbench's
installation (its folder is on ``sys.path`` just for that, last, so the
app's own packages always win), then the app's own ``sitecustomize``, if its
environment has one, runs as it would have.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def _start_probe() -> None:
    home = os.environ.get("LEAKBENCH_PROBE_HOME", "")
    added = bool(home) and home not in sys.path
    if added:
        sys.path.append(home)
    try:
        from leakbench._targets import probe  # noqa: PLC0415 - only once the path is set

        probe.install()
    except Exception as exc:  # the app must start even when the probe cannot
        sys.stderr.write(f"leakbench probe: not loaded in process {os.getpid()}: {exc}\n")
    finally:
        if added:
            sys.path.remove(home)


def _hand_over() -> None:
    """Run the ``sitecustomize`` this one shadows, if the environment has one."""
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
    sys.modules.pop("sitecustomize", None)
    try:
        importlib.import_module("sitecustomize")
    except ImportError as exc:
        if exc.name != "sitecustomize":
            raise


_start_probe()
_hand_over()
