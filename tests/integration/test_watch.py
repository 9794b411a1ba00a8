"""Load from another tool: ``leakbench watch -- COMMAND`` and ``run --load-command``.

The load is wrk's (a system package), never leakbench's driver; the targets
are real scenarios under uvicorn on the embedded server. For ``watch`` the
test starts the target itself, as a user would, and leakbench only watches
its database.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._settings import dsn as dsn_tools
from tests.fix_server import StartTarget, scenario
from tests.integration.load_tools import needs_locust, needs_wrk, wrk_command

pytestmark = pytest.mark.slow
runner = CliRunner()
QUICK = ["--settle", "2", "--no-live"]


def invoke(tmp_path: Path, *args: str) -> tuple[int, str, dict[str, object]]:
    report = tmp_path / "report.json"
    result = runner.invoke(
        app, [args[0], "--report-dir", str(tmp_path / "reports"), "--json", str(report), *args[1:]]
    )
    data = json.loads(report.read_text()) if report.exists() else {}
    return result.exit_code, " ".join(result.output.split()), data


def rows(data: dict[str, object]) -> list[dict[str, object]]:
    found = data["rows"]
    assert isinstance(found, list)
    return found


@needs_wrk
@pytest.mark.parametrize(
    "expected", [("global-session-cache", "LEAKED", 1), ("try-finally", "CLEAN", 0)]
)
def test_watch_judges_an_app_the_user_started_under_wrk(
    expected: tuple[str, str, int],
    start_target: StartTarget,
    embedded_dsn: str,
    owned_database: str,
    tmp_path: Path,
) -> None:
    name, verdict, code = expected
    target = start_target(scenario(name))
    database_dsn = dsn_tools.with_database(embedded_dsn, owned_database)
    command = wrk_command(tmp_path, target.base_url)
    exit_code, output, data = invoke(
        tmp_path, "watch", "--dsn", database_dsn, *QUICK, "--", *command
    )
    assert exit_code == code, output
    [row] = rows(data)
    assert (row["pattern"], row["endpoint"], row["verdict"]) == ("watch", "$ wrk", verdict)
    external = row["external"]
    assert isinstance(external, dict)
    assert external["exit_code"] == 0 and not external["stopped"]
    assert "Requests/sec" in str(external["output_tail"])  # wrk's own summary, kept
    # Every row's notes are in report.md (the terminal shows those of rows that need them).
    markdown = (tmp_path / "reports" / "report.md").read_text().replace("\\_", "_")
    markdown = " ".join(markdown.split())
    assert f"Load from wrk -t1 -c10 -d2s -s {command[5]} {target.base_url}/ok" in markdown
    assert "watching the database, load from wrk" in output
    # The saved report reads back whole: same verdict, same exit code, the load's origin.
    again = runner.invoke(app, ["report", str(tmp_path / "report.json")])
    assert again.exit_code == code
    assert "load from wrk" in " ".join(again.output.split())  # the settings line
    if verdict == "LEAKED":
        assert "connection(s) were still idle in transaction" in output
        # No probe is asked in watch mode, even when the app has one: the kind is unknown.
        assert row["leak_kind"] == "unknown" and row["pool_after_settle"] is None
    else:
        assert "none after the settle" in markdown


@needs_wrk
def test_run_load_command_drives_each_started_target_with_wrk(tmp_path: Path) -> None:
    script = wrk_command(tmp_path, "{url}")
    exit_code, output, data = invoke(
        tmp_path, "run", "-p", "global-session-cache", "-p", "try-finally",
        "--load-command", " ".join(script), *QUICK,
    )  # fmt: skip
    assert exit_code == 1, output
    assert [(r["pattern"], r["endpoint"], r["verdict"]) for r in rows(data)] == [
        ("global-session-cache", "$ wrk", "LEAKED"),
        ("try-finally", "$ wrk", "CLEAN"),
    ]
    # leakbench started these targets, so it read their pools and forced a collection.
    assert rows(data)[0]["leak_kind"] == "held_by_reference"
    settings = data["settings"]
    assert isinstance(settings, dict)
    assert settings["load_command"] == shlex.join(script)
    assert "http://127.0.0.1:" in output  # {url} became each target's address


@needs_wrk
def test_a_failed_command_fails_the_run_unless_judged_anyway(
    start_target: StartTarget, embedded_dsn: str, owned_database: str, tmp_path: Path
) -> None:
    database_dsn = dsn_tools.with_database(embedded_dsn, owned_database)
    base = ("watch", "--dsn", database_dsn, *QUICK)

    def failing_load() -> list[str]:
        # A fresh target each time: the last one's pool is full of leaked connections.
        target = start_target(scenario("global-session-cache"))
        return ["sh", "-c", " ".join(wrk_command(tmp_path, target.base_url, 1)) + "; exit 7"]

    exit_code, output, data = invoke(tmp_path, *base, "--", *failing_load())
    assert exit_code == 3, output
    assert rows(data)[0]["verdict"] == "FAILED"
    assert "The load command exited with code 7, so the row is not judged" in output

    exit_code, output, data = invoke(tmp_path, *base, "--judge-failed-load", "--", *failing_load())
    assert exit_code == 1, output
    assert rows(data)[0]["verdict"] == "LEAKED"
    assert "exited with code 7 (judged anyway: --judge-failed-load)" in output


def test_a_command_that_outlives_its_time_limit_is_stopped_with_its_children(
    embedded_dsn: str, owned_database: str, tmp_path: Path
) -> None:
    database_dsn = dsn_tools.with_database(embedded_dsn, owned_database)
    marker = "31.4159"  # a sleep no other process runs
    command = ["sh", "-c", f"sleep {marker} & sleep {marker}"]
    exit_code, output, data = invoke(
        tmp_path, "watch", "--dsn", database_dsn, "--load-timeout", "1", *QUICK, "--", *command
    )
    assert exit_code == 3, output
    assert "The load command was stopped after 1." in output
    assert rows(data)[0]["verdict"] == "FAILED"
    left = [
        p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])
    ]
    assert left == []


LOCUSTFILE = """
from locust import HttpUser, constant, task
from locust.exception import StopUser


class Api(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.sent = 0

    @task
    def ok(self):
        if self.sent >= 100:  # a cap on each user's requests, besides -t
            raise StopUser()
        self.sent += 1
        self.client.post("/ok", json={}, timeout=10)
"""


@needs_locust
@pytest.mark.parametrize(
    "expected", [("global-session-cache", "LEAKED", 1), ("try-finally", "CLEAN", 0)]
)
def test_watch_judges_a_headless_locust_run(
    expected: tuple[str, str, int],
    start_target: StartTarget,
    embedded_dsn: str,
    owned_database: str,
    tmp_path: Path,
) -> None:
    name, verdict, code = expected
    target = start_target(scenario(name))
    locustfile = tmp_path / "locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    database_dsn = dsn_tools.with_database(embedded_dsn, owned_database)
    command = [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--headless",
        "-u", "5", "-r", "5", "-t", "3s", "--host", target.base_url, "--only-summary",
    ]  # fmt: skip
    exit_code, output, data = invoke(
        tmp_path, "watch", "--dsn", database_dsn, *QUICK, "--", *command
    )
    assert exit_code == code, output
    [row] = rows(data)
    assert (row["endpoint"], row["verdict"]) == (f"$ {Path(sys.executable).name}", verdict)
    external = row["external"]
    assert isinstance(external, dict) and external["exit_code"] == 0
    assert "Aggregated" in str(external["output_tail"])  # Locust's summary, kept
