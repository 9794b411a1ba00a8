"""The with-session scenario, stamping when its first load request arrives.

The start-up benchmark runs ``leakbench run --app`` on this module: the time
from starting the command to the stamp is the start-up cost, embedded
PostgreSQL, the target's start and leakbench's baseline included. The
readiness probe leakbench sends before the load (a GET) is not stamped.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from leakbench.scenarios.with_session import app as scenario_app

STAMP_ENV = "LEAKBENCH_BENCH_STAMP"
_stamp = Path(os.environ[STAMP_ENV]) if STAMP_ENV in os.environ else None


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _stamp  # noqa: PLW0603 - one stamp per process, on the first POST
    if _stamp is not None and scope["type"] == "http" and scope["method"] == "POST":
        _stamp.write_text(f"{time.time():.6f}")
        _stamp = None
    await scenario_app(scope, receive, send)
