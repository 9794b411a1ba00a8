"""Prometheus metrics scraped from a real leakbench run while it measures a real leak."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx2

from tests.prometheus_text import key, parse


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)


def test_a_scrape_during_a_real_run_sees_the_leak_grow(embedded_dsn: str, tmp_path: Path) -> None:
    command = [
        sys.executable,
        "-m",
        "leakbench",
        "run",
        "--pattern",
        "global-session-cache",
        "-e",
        "ok",
        "-c",
        "20",
        "-d",
        "2",
        "--settle",
        "1",
        "--pool-timeout",
        "1",
        "--dsn",
        embedded_dsn,
        "--prometheus-port",
        "0",
        "--timeout",
        "90",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path
    )
    output: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, output), daemon=True).start()
    seen: list[str] = []
    scrapes: list[dict[tuple[str, frozenset[tuple[str, str]]], float]] = []
    try:
        deadline = time.monotonic() + 60
        url = None
        while url is None and time.monotonic() < deadline:
            line = output.get(timeout=60)
            seen.append(line)
            found = re.search(r"metrics: (http://127\.0\.0\.1:\d+/metrics)", line)
            url = found[1] if found else None
        assert url, "".join(seen)
        while process.poll() is None and time.monotonic() < deadline:
            try:
                scrapes.append(parse(httpx2.get(url, timeout=2).text))
            except httpx2.TransportError:
                break  # the run ended between the poll and the scrape
            time.sleep(0.1)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 1, "".join(seen)

    row = {"pattern": "global-session-cache", "endpoint": "/ok"}
    idle_in_transaction = [
        value
        for scrape in scrapes
        for (name, labels), value in scrape.items()
        if name == "pg_stat_activity_count" and ("state", "idle in transaction") in labels
    ]
    requests = [
        s[key("leakbench_requests_total", **row)]
        for s in scrapes
        if key("leakbench_requests_total", **row) in s
    ]
    assert max(idle_in_transaction) == 12  # the whole pool: pool_size 2 + max_overflow 10
    assert requests and requests[-1] > 0
    assert requests == sorted(requests)  # a counter never goes back
    assert any(key("leakbench_phase", phase="load", **row) in s for s in scrapes)
    assert any(key("leakbench_phase", phase="settle", **row) in s for s in scrapes)
    # The pool's view is live: read during the load, while the row is still running.
    live_pool = [
        s[key("leakbench_pool_checked_out", **row)]
        for s in scrapes
        if key("leakbench_phase", phase="load", **row) in s
        and key("leakbench_pool_checked_out", **row) in s
    ]
    assert live_pool and max(live_pool) == 12
