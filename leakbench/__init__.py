"""leakbench: prove whether a FastAPI + SQLAlchemy service leaks PostgreSQL connections."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

if TYPE_CHECKING:
    from leakbench.config import (
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
    from leakbench.request_spec import Header, Login, RequestSettings, Route
    from leakbench.results import RowResult, RunResult, Verdict
    from leakbench.runner.run import run

# The public names import their modules on first use: importing the package
# must stay cheap for the pytest plugin (loaded by every pytest session) and
# for the probe inside each target.
_EXPORTS = {
    "AttachTarget": "leakbench.config",
    "EnvTemplate": "leakbench.config",
    "Endpoint": "leakbench.config",
    "LoadCommand": "leakbench.config",
    "LoadSettings": "leakbench.config",
    "PoolSettings": "leakbench.config",
    "RunConfig": "leakbench.config",
    "Target": "leakbench.config",
    "VerdictSettings": "leakbench.config",
    "Header": "leakbench.request_spec",
    "Login": "leakbench.request_spec",
    "RequestSettings": "leakbench.request_spec",
    "Route": "leakbench.request_spec",
    "WatchTarget": "leakbench.config",
    "RowResult": "leakbench.results",
    "RunResult": "leakbench.results",
    "Verdict": "leakbench.results",
    "run": "leakbench.runner.run",
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
    "LoadCommand",
    "LoadSettings",
    "Login",
    "PoolSettings",
    "RequestSettings",
    "Route",
    "RowResult",
    "RunConfig",
    "RunResult",
    "Target",
    "Verdict",
    "VerdictSettings",
    "WatchTarget",
    "__version__",
    "run",
]
