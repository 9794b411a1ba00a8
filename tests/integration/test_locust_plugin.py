"""The Locust plugin for real: a master and two workers on loopback drive the load.

leakbench runs inside the master only (imported by the locustfile), takes
the baseline at test start and judges when Locust quits; Locust's exit
code is the verdict's. The target is a scenario the test starts; the load
is bounded by ``-t`` and by a cap on each user's requests.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from leakbench._settings import dsn as dsn_tools
from leakbench._system.processes import stop_process_group
from tests.fix_server import StartTarget, scenario
from tests.integration.load_tools import needs_locust

pytestmark = [pytest.mark.slow, needs_locust]

USERS = 6
REQUESTS_PER_USER = 150  # with USERS users: at most 900 requests in all
LOCUSTFILE = f"""
    import leakbench.locust  # noqa: F401  (the plugin: judges on the master)
    from locust import HttpUser, constant, task
    from locust.exception import StopUser


    class Api(HttpUser):
        wait_time = constant(0)

        def on_start(self):
            self.sent = 0

        @task
        def ok(self):
            if self.sent >= {REQUESTS_PER_USER}:
                raise StopUser()
            self.sent += 1
            self.client.post("/ok", json={{}}, timeout=10)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_distributed(
    locustfile: Path, host: str, dsn: str, report_dir: Path, log_dir: Path
) -> tuple[int, str]:
    """Master + two workers on loopback; returns the master's exit code and output."""
    port = str(free_port())
    locust = [sys.executable, "-m", "locust", "-f", str(locustfile), "--loglevel", "WARNING"]
    master_args = [
        *locust, "--headless", "--master", "--expect-workers", "2",
        "--expect-workers-max-wait", "30", "-u", str(USERS), "-r", str(USERS), "-t", "4s",
        "--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--host", host,
        "--leakbench-dsn", dsn, "--leakbench-settle", "2",
        "--leakbench-report-dir", str(report_dir),
    ]  # fmt: skip
    worker_args = [*locust, "--worker", "--master-host", "127.0.0.1", "--master-port", port]
    processes: list[subprocess.Popen[bytes]] = []
    logs = [log_dir / name for name in ("master.log", "worker1.log", "worker2.log")]
    try:
        for args, log in zip([master_args, worker_args, worker_args], logs, strict=True):
            with log.open("wb") as output:
                processes.append(
                    subprocess.Popen(
                        args, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
                    )
                )
        code = processes[0].wait(timeout=90)
        # Told to quit by the master, the workers end by themselves.
        for worker in processes[1:]:
            assert worker.wait(timeout=30) == 0, logs[1].read_text()
    finally:
        for process in processes:
            stop_process_group(process, grace=5.0)
    return code, " ".join(logs[0].read_text().split())


def locust_processes(locustfile: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if str(locustfile) in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


@pytest.mark.parametrize(
    "expected", [("global-session-cache", "LEAKED", 1), ("try-finally", "CLEAN", 0)]
)
def test_locust_master_and_two_workers_judged_by_the_plugin(
    expected: tuple[str, str, int],
    start_target: StartTarget,
    embedded_dsn: str,
    owned_database: str,
    tmp_path: Path,
) -> None:
    name, verdict, code = expected
    target = start_target(scenario(name))
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(textwrap.dedent(LOCUSTFILE).lstrip())
    database_dsn = dsn_tools.with_database(embedded_dsn, owned_database)
    started = time.monotonic()
    exit_code, output = run_distributed(
        locustfile, target.base_url, database_dsn, tmp_path / "reports", tmp_path
    )
    assert exit_code == code, output
    assert time.monotonic() - started < 60
    assert f"Overall: {verdict}" in output, output[-3000:]
    report = json.loads((tmp_path / "reports" / "report.json").read_text())
    [row] = report["rows"]
    assert (row["pattern"], row["endpoint"], row["verdict"]) == (
        "watch", "locust (master, 2 workers)", verdict
    )  # fmt: skip
    # Locust's own statistics, gathered from both workers by the master.
    external = row["external"]
    assert 0 < external["requests"] <= USERS * REQUESTS_PER_USER
    assert external["latency"]["p50"] > 0
    assert external["latency"]["p50"] <= external["latency"]["p95"] <= external["latency"]["p99"]
    # Every row's notes are in report.md (the terminal shows those of rows that need them).
    markdown = (tmp_path / "reports" / "report.md").read_text()
    assert "The load tool reported" in " ".join(markdown.split())
    assert locust_processes(locustfile) == []


def test_an_unreachable_database_fails_the_locust_run(
    start_target: StartTarget, tmp_path: Path
) -> None:
    target = start_target(scenario("try-finally"))
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(textwrap.dedent(LOCUSTFILE).lstrip())
    args = [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", "2", "-r", "2",
        "-t", "2s", "--host", target.base_url, "--only-summary",
        "--leakbench-dsn", "postgresql://nobody@127.0.0.1:1/app",
    ]  # fmt: skip
    finished = subprocess.run(args, capture_output=True, timeout=60, check=False)
    output = " ".join((finished.stdout + finished.stderr).decode().split())
    assert finished.returncode == 3, output
    assert "leakbench error:" in output and "127.0.0.1:1" in output
