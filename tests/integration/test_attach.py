"""Attach mode (``--url``): the test starts the app itself with uvicorn on its own
database, and leakbench loads it and judges only that database's connections.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import psycopg
import pytest
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._progress.events import RunObserver
from leakbench._results import Phase, Verdict
from leakbench._runner.pipeline import run
from leakbench._settings import AttachTarget, Endpoint, LoadSettings, RunConfig, VerdictSettings
from leakbench._settings import dsn as dsn_tools
from leakbench._system.processes import stop_process_group
from tests.reliability.spawn import Spawned
from tests.user_app_sources import ORDERS_SCHEMA, write_leaky_app, write_shop_package

runner = CliRunner()
SMALL_LOAD = ["-c", "20", "-d", "1", "--settle", "2", "--no-live"]
APP_NAME = "shop-app"


def run_cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["run", "--report-dir", str(tmp_path / "reports"), *args])
    return result.exit_code, " ".join(result.output.split())


@contextlib.contextmanager
def serve(spec: str, app_dir: Path, env: dict[str, str], log: Path) -> Iterator[str]:
    """Run ``spec`` under uvicorn on a free loopback port; stop it (and its group) at the end."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    args = [sys.executable, "-m", "uvicorn", spec, "--app-dir", str(app_dir)]
    args += ["--fd", str(listener.fileno()), "--log-level", "warning"]
    with log.open("wb") as output:
        process = subprocess.Popen(
            args,
            env={**_clean_environment(), **env},
            pass_fds=(listener.fileno(),),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    listener.close()
    try:
        _wait_until_up(url, process, log)
        yield url
    finally:
        stop_process_group(process, grace=5.0)


def _clean_environment() -> dict[str, str]:
    import os  # noqa: PLC0415 - only here

    # No leakbench probe in an app the user starts themselves.
    return {k: v for k, v in os.environ.items() if not k.startswith("LEAKBENCH_")}


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            httpx2.get(url + "/", timeout=1)
        except httpx2.HTTPError:
            time.sleep(0.05)
            continue
        return
    pytest.fail(f"the app did not answer at {url}: {log.read_text()}")


@pytest.fixture
def app_database(embedded_dsn: str, owned_database: str) -> str:
    """The DSN of a database the test created for the app, with the app's table in it."""
    database_dsn = dsn_tools.with_database(embedded_dsn, owned_database)
    with psycopg.connect(database_dsn, autocommit=True) as conn:
        conn.execute(ORDERS_SCHEMA)
    return database_dsn


def sqlalchemy_url(database_dsn: str, application_name: str) -> str:
    url = dsn_tools.to_url(dsn_tools.validate(database_dsn), scheme="postgresql+psycopg")
    return f"{url}?application_name={application_name}"


def databases(admin_dsn: str) -> set[str]:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        return {str(row[0]) for row in conn.execute("SELECT datname FROM pg_database")}


def test_a_leaking_app_started_by_the_user_is_leaked(
    embedded_dsn: str, app_database: str, tmp_path: Path
) -> None:
    main = write_leaky_app(tmp_path / "leaky")
    env = {"ORDERS_DB": sqlalchemy_url(app_database, "orders-app")}
    before = databases(embedded_dsn)
    with serve("main:app", main.parent, env, tmp_path / "app.log") as url:
        code, output = run_cli(
            tmp_path, "--url", url, "--dsn", app_database, "-e", "POST /orders", *SMALL_LOAD
        )
    assert code == 1, output
    assert f"│ {url} │ /orders" in output and "LEAKED │" in output
    assert "PostgreSQL still sees 5 connection(s) idle in transaction" in output
    assert "leakbench did not start it" in output  # the leak's kind is unknown
    assert "the pool is not visible (attach mode" in output
    assert "application_name 'orders-app'; its last query: SELECT count(*) FROM orders" in output
    assert f"attached to {url}" in output
    # Nothing created or dropped: the server's databases are the same as before.
    assert databases(embedded_dsn) == before


def test_a_clean_app_started_by_the_user_is_clean(app_database: str, tmp_path: Path) -> None:
    spec = write_shop_package(tmp_path)
    env = {"SHOP_URL": sqlalchemy_url(app_database, APP_NAME)}
    with serve(spec, tmp_path, env, tmp_path / "app.log") as url:
        code, output = run_cli(
            tmp_path, "--url", url, "--dsn", app_database, "-e", "POST /orders",
            "--application-name", APP_NAME, *SMALL_LOAD,
        )  # fmt: skip
    assert code == 0, output
    assert "CLEAN │" in output and "Overall: CLEAN" in output
    assert f"attached to {url} (application_name '{APP_NAME}')" in output
    flat = " ".join(output.split())  # rich wraps long lines
    assert "versions recorded are those of leakbench's own environment" in flat


def test_a_filter_that_matches_none_of_the_apps_connections_is_inconclusive(
    app_database: str, tmp_path: Path
) -> None:
    spec = write_shop_package(tmp_path)
    env = {"SHOP_URL": sqlalchemy_url(app_database, APP_NAME)}
    with serve(spec, tmp_path, env, tmp_path / "app.log") as url:
        code, output = run_cli(
            tmp_path, "--url", url, "--dsn", app_database, "-e", "POST /orders",
            "--application-name", "not-the-app", *SMALL_LOAD,
        )  # fmt: skip
    assert code == 4, output
    assert "INCONCLUSIVE │" in output
    # Only the watched application_name's connections count as evidence, and none ran.
    assert (
        "Nothing touched the database during the row (0 connection(s) that ran a statement)"
        in " ".join(output.split())
    )


class ForeignTransactions(RunObserver):
    """Once the load starts (after the baseline), other clients open transactions and idle."""

    def __init__(self, same_database_dsn: str, other_database_dsn: str) -> None:
        self.targets = (
            (same_database_dsn, "batch-job"),
            (other_database_dsn, APP_NAME),  # even the app's own name, on another database
        )
        self.connections: list[psycopg.Connection[tuple[object, ...]]] = []

    def phase_changed(self, phase: Phase, limit_seconds: float | None) -> None:
        if phase is Phase.LOAD:
            for dsn, name in self.targets:
                conn = psycopg.connect(dsn, application_name=name)
                conn.execute("SELECT 1")  # now idle in transaction
                self.connections.append(conn)

    def close(self) -> None:
        for conn in self.connections:
            conn.close()


def test_only_the_apps_database_and_application_name_are_judged(
    embedded_dsn: str, app_database: str, tmp_path: Path
) -> None:
    spec = write_shop_package(tmp_path)
    env = {"SHOP_URL": sqlalchemy_url(app_database, APP_NAME)}

    def judge(application_name: str | None) -> tuple[Verdict, tuple[str, ...]]:
        config = RunConfig(
            targets=(),
            endpoints=(Endpoint.parse("POST /orders"),),
            load=LoadSettings(concurrency=10, duration=1.0),
            verdict=VerdictSettings(settle=1.5),
            dsn=app_database,
            attach=AttachTarget(url, application_name=application_name),
        )
        foreign = ForeignTransactions(app_database, embedded_dsn)
        try:
            row = run(config, foreign).rows[0]
        finally:
            foreign.close()
        assert len(foreign.connections) == 2
        assert row.findings is not None, row.error
        return row.verdict, row.findings.reasons

    with serve(spec, tmp_path, env, tmp_path / "app.log") as url:
        narrowed, _ = judge(APP_NAME)
        whole_database, reasons = judge(None)
    # Narrowed to the app's application_name, the other client's transaction is not the app's.
    assert narrowed is Verdict.CLEAN
    # On the whole database that one transaction counts, but never the other database's.
    assert whole_database is Verdict.LEAKED
    assert reasons[0].startswith("1 connection(s) were still idle in transaction")


def test_ctrl_c_during_an_attached_row_marks_it_interrupted(
    app_database: str, tmp_path: Path
) -> None:
    spec = write_shop_package(tmp_path)
    env = {"SHOP_URL": sqlalchemy_url(app_database, APP_NAME)}
    report = tmp_path / "r.json"
    with serve(spec, tmp_path, env, tmp_path / "app.log") as url:
        child = Spawned(
            [
                *("run", "--url", url, "--dsn", app_database, "-e", "POST /orders"),
                *("-c", "5", "-d", "30", "--json", str(report)),
            ]
        )
        try:
            child.wait_for("/orders: load")
            child.signal(signal.SIGINT)
            assert child.wait(30) == 130, child.output
        finally:
            child.kill_everything()
    rows = json.loads(report.read_text())["rows"]
    assert [(r["pattern"], r["endpoint"], r["verdict"]) for r in rows] == [
        (url, "/orders", "INTERRUPTED")
    ]
