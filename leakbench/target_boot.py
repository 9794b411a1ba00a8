"""Entry point of the target process: ``python -m leakbench.target_boot``.

leakbench starts the app under test through this module so that the probe
is loaded in every uvicorn worker before the app is imported, and so the
listening socket leakbench bound (passed as a file descriptor) is used as
is: no port is ever chosen twice.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import socket
import sys
from typing import Any

import uvicorn
from uvicorn.importer import import_from_string

from leakbench import probe

APP_ENV = "LEAKBENCH_TARGET_APP"
APP_DIR_ENV = "LEAKBENCH_TARGET_APP_DIR"
PARENT_PID_ENV = "LEAKBENCH_PARENT_PID"
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


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


def main(argv: list[str] | None = None) -> None:
    _die_with_parent()
    parser = argparse.ArgumentParser(prog="leakbench.target_boot")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    app_dir = os.environ.get(APP_DIR_ENV)
    if app_dir and app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    config = uvicorn.Config(
        "leakbench.target_boot:create_app",
        factory=True,
        workers=args.workers,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=3,
    )
    sock = socket.socket(fileno=args.fd)
    server = uvicorn.Server(config)
    if args.workers > 1:
        from uvicorn.supervisors import Multiprocess  # noqa: PLC0415 - only with workers

        Multiprocess(config, sockets=[sock]).run()
    else:
        server.run(sockets=[sock])


if __name__ == "__main__":
    main()
