"""Entry point of the target process: ``python -m leakbench._targets.boot``.

leakbench starts the app under test through this module so that the probe
is loaded in every uvicorn worker before the app is imported, and so the
listening socket leakbench bound (passed as a file descriptor) is used as
is: no port is ever chosen twice.

The process reads its launch order (environment, folder, workers) as one
JSON line on stdin. That lets leakbench start a *spare* before it knows the
target's database: with ``--preload`` the spare imports the heavy libraries
while PostgreSQL starts, and waits for its order (see leakbench.warm_start).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.importer import import_from_string

from leakbench._targets import probe

APP_ENV = "LEAKBENCH_TARGET_APP"
APP_DIR_ENV = "LEAKBENCH_TARGET_APP_DIR"
PARENT_PID_ENV = "LEAKBENCH_PARENT_PID"
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
# What a FastAPI + SQLAlchemy target spends most of its start-up importing.
PRELOADED_MODULES = ("fastapi", "sqlalchemy", "sqlmodel", "psycopg", "uvloop", "httptools")


def create_app() -> Any:
    """uvicorn factory: install the probe, then import the user's app."""
    app_dir = os.environ.get(APP_DIR_ENV)
    if app_dir and app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    probe.install()
    return import_from_string(os.environ[APP_ENV])


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM us when leakbench dies, even by SIGKILL (no orphan targets)."""
    expected_parent = os.environ.get(PARENT_PID_ENV)
    if not sys.platform.startswith("linux") or not expected_parent:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != int(expected_parent):  # the parent died before prctl took effect
        sys.exit(1)


def _preload() -> None:
    for name in PRELOADED_MODULES:
        # Only a head start: whatever fails here fails again, visibly, when the app imports it.
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def _follow_launch_order() -> int:
    """Take the environment and folder leakbench sends; return the number of workers."""
    line = sys.stdin.readline()
    if not line:  # leakbench went away before it needed this process
        sys.exit(0)
    order = json.loads(line)
    started_in = str(Path.cwd())
    os.environ.clear()
    os.environ.update(order["env"])
    os.chdir(order["cwd"])
    # ``python -m`` put the folder it started in first on sys.path; the app's folder belongs there.
    if sys.path and sys.path[0] == started_in:
        sys.path[0] = order["cwd"]
    return int(order["workers"])


def main(argv: list[str] | None = None) -> None:
    _die_with_parent()
    parser = argparse.ArgumentParser(prog="leakbench._targets.boot")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--preload", action="store_true")
    args = parser.parse_args(argv)
    if args.preload:
        _preload()
    workers = _follow_launch_order()
    app_dir = os.environ.get(APP_DIR_ENV)
    if app_dir and app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    config = uvicorn.Config(
        "leakbench._targets.boot:create_app",
        factory=True,
        workers=workers,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=3,
    )
    sock = socket.socket(fileno=args.fd)
    server = uvicorn.Server(config)
    if workers > 1:
        from uvicorn.supervisors import Multiprocess  # noqa: PLC0415 - only with workers

        Multiprocess(config, sockets=[sock]).run()
    else:
        server.run(sockets=[sock])


if __name__ == "__main__":
    main()
