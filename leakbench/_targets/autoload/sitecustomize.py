"""Imported by Python at start-up in every process ``leakbench probe`` runs: starts the probe.

The app sees nothing of leakbench but the probe: no folder is added to
``sys.path`` and no module named ``leakbench`` is imported. The probe's own
files (``LEAKBENCH_PROBE_HOME``, the folder that holds them, and
:data:`PROBE_MODULES`, the files the probe is made of, which import only
each other and the standard library) are loaded one by one, by path, as
the private package :data:`PACKAGE`. So leakbench's other modules and its
dependencies never shadow the app's (an app with a ``leakbench`` of its own
still imports its own), and the app's never break the probe. Then the app's
own ``sitecustomize``, if its environment has one, runs as it would have.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
from importlib.machinery import PathFinder
from pathlib import Path

_HERE = Path(__file__).resolve().parent
# The private package the probe's files are loaded as, and those files, dependencies first.
PACKAGE = "_leakbench_probe"
PROBE_MODULES = ("sites", "pool_counters", "psycopg_pools", "probe")


def _load_probe(home: Path) -> types.ModuleType:
    """The probe's modules, loaded from ``home`` by path (nothing else can be imported)."""
    package = types.ModuleType(PACKAGE, "The leakbench probe's files, loaded by path.")
    package.__path__ = []  # no search: only the modules below exist in it
    sys.modules[PACKAGE] = package
    module = package
    for name in PROBE_MODULES:
        spec = importlib.util.spec_from_file_location(f"{PACKAGE}.{name}", home / f"{name}.py")
        if spec is None or spec.loader is None:
            raise ImportError(f"no probe file {name}.py in {home}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        setattr(package, name, module)
    return module


def _start_probe() -> None:
    home = os.environ.get("LEAKBENCH_PROBE_HOME", "")
    try:
        if not home:
            raise ImportError("LEAKBENCH_PROBE_HOME is not set")
        _load_probe(Path(home)).install()
    except Exception as exc:  # the app must start even when the probe cannot
        for name in [PACKAGE, *(f"{PACKAGE}.{n}" for n in PROBE_MODULES)]:
            sys.modules.pop(name, None)
        sys.stderr.write(f"leakbench probe: not loaded in process {os.getpid()}: {exc}\n")


def _hand_over() -> None:
    """Run the ``sitecustomize`` this one shadows, if the environment has one.

    It becomes ``sys.modules["sitecustomize"]``, as if this one did not
    exist; this module is still being imported, so its entry is replaced,
    never removed (the import system reads it back when this one is done).
    """
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _HERE]
    spec = PathFinder.find_spec("sitecustomize", sys.path)
    if spec is None or spec.loader is None:
        return
    own = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = own
    spec.loader.exec_module(own)


_start_probe()
_hand_over()
