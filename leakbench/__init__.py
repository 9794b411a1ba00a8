"""leakbench: prove whether a FastAPI + SQLAlchemy service leaks PostgreSQL connections.

The public API is what this module exports (``run``, ``RunConfig``,
``RunResult``, ``judge``, the settings and result types, the errors), plus
:mod:`leakbench.errors`, :mod:`leakbench.pytest_plugin`, :mod:`leakbench.locust`
and :mod:`leakbench.scenarios`. Every module whose name starts with ``_`` is
private: it may change in any release (docs/api.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

if TYPE_CHECKING:
    from leakbench._results import RowResult, RunResult, Verdict
    from leakbench._runner.pipeline import run
    from leakbench._settings import (
        AttachTarget,
        Endpoint,
        EnvTemplate,
        LoadCommand,
        LoadSettings,
        PoolSettings,
        RunConfig,
        Target,
        VerdictSettings,
        WatchTarget,
    )
    from leakbench._settings.requests import Header, Login, RequestSettings, Route
    from leakbench._verdict.outcome import Outcome, judge
    from leakbench._verdict.thresholds import Thresholds
    from leakbench.errors import (
        Interrupted,
        LeakbenchError,
        PartialRun,
        RunError,
        UsageError,
    )

# The public names import their modules on first use: importing the package
# must stay cheap for the pytest plugin (loaded by every pytest session) and
# for the probe inside each target.
_EXPORTS = {
    "AttachTarget": "leakbench._settings",
    "EnvTemplate": "leakbench._settings",
    "Endpoint": "leakbench._settings",
    "LoadCommand": "leakbench._settings",
    "LoadSettings": "leakbench._settings",
    "PoolSettings": "leakbench._settings",
    "RunConfig": "leakbench._settings",
    "Target": "leakbench._settings",
    "VerdictSettings": "leakbench._settings",
    "Header": "leakbench._settings.requests",
    "Login": "leakbench._settings.requests",
    "RequestSettings": "leakbench._settings.requests",
    "Route": "leakbench._settings.requests",
    "WatchTarget": "leakbench._settings",
    "RowResult": "leakbench._results",
    "RunResult": "leakbench._results",
    "Verdict": "leakbench._results",
    "run": "leakbench._runner.pipeline",
    "Outcome": "leakbench._verdict.outcome",
    "judge": "leakbench._verdict.outcome",
    "Thresholds": "leakbench._verdict.thresholds",
    "Interrupted": "leakbench.errors",
    "LeakbenchError": "leakbench.errors",
    "PartialRun": "leakbench.errors",
    "RunError": "leakbench.errors",
    "UsageError": "leakbench.errors",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'leakbench' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "AttachTarget",
    "Endpoint",
    "EnvTemplate",
    "Header",
    "Interrupted",
    "LeakbenchError",
    "LoadCommand",
    "LoadSettings",
    "Login",
    "Outcome",
    "PartialRun",
    "PoolSettings",
    "RequestSettings",
    "Route",
    "RowResult",
    "RunConfig",
    "RunError",
    "RunResult",
    "Target",
    "Thresholds",
    "UsageError",
    "Verdict",
    "VerdictSettings",
    "WatchTarget",
    "__version__",
    "judge",
    "run",
]
