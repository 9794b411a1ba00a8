"""Load tools the integration tests drive targets with (wrk from the system's packages)."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest

WRK = shutil.which("wrk")
needs_wrk = pytest.mark.skipif(WRK is None, reason="wrk is not installed (apt-get install wrk)")
# Looked up, never imported here: importing Locust monkey-patches this whole process with gevent.
needs_locust = pytest.mark.skipif(
    importlib.util.find_spec("locust") is None, reason="the locust test extra is not installed"
)


def wrk_command(tmp_path: Path, url: str, seconds: int = 2) -> list[str]:
    """wrk POSTing JSON to /ok for a few seconds on 10 connections (its default is GET)."""
    script = tmp_path / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.body = "{}"\nwrk.headers["Content-Type"] = "application/json"\n'
    )
    return ["wrk", "-t1", "-c10", f"-d{seconds}s", "-s", str(script), f"{url}/ok"]
