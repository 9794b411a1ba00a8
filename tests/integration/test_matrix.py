"""`leakbench matrix` end to end: real uv environments, real targets, real PostgreSQL.

Every environment is installed from the local wheelhouse (tests/integration/
wheelhouse.py, prepared by scripts/test.sh), never from the package index; the
environments are kept in the test cache (tests/integration/wheelhouse.py), so only the
first run on a machine builds them.
The verdicts asserted here were measured first (see docs/leaks.md, "Across
FastAPI versions").
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._matrix.environments import EnvironmentCache
from leakbench._settings import TargetInterpreter
from leakbench._settings.matrix import Combination, combinations, parse_axes, requirements
from leakbench._targets.interpreter import check
from tests.integration import wheelhouse

runner = CliRunner()
# Short rows: 40 requests or 1 s of load, whichever ends first (40 is more than
# the pool's 12 connections, so a leak per request drains it); a leaked connection
# is still there after a 2 s settle, and the requests stuck behind a drained pool
# give up within 2 s.
SHORT_ROWS = (
    *("-c", "4", "-n", "40", "-d", "1", "--request-timeout", "2", "--pool-timeout", "1"),
    *("--settle", "2", "--no-live"),
)


@pytest.fixture
def local_index(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """uv installs from the wheelhouse only, with its cache in the test cache."""
    wheelhouse.prepare()
    monkeypatch.setenv("UV_NO_INDEX", "1")
    monkeypatch.setenv("UV_FIND_LINKS", str(wheelhouse.WHEELHOUSE))
    monkeypatch.setenv("UV_CACHE_DIR", str(wheelhouse.UV_CACHE))
    monkeypatch.delenv("UV_OFFLINE", raising=False)
    yield


@pytest.mark.slow
@pytest.mark.usefixtures("local_index")
def test_background_request_session_leaks_only_between_fastapi_0_106_and_0_118(
    tmp_path: Path, embedded_dsn: str
) -> None:
    result = runner.invoke(
        app,
        [
            "matrix",
            *("-p", "background-request-session", "-p", "background-function-scope"),
            *(f"--versions={axis}" for axis in wheelhouse.TEST_VERSIONS),
            *("--env-cache", str(wheelhouse.ENV_CACHE), "--report-dir", str(tmp_path / "r")),
            *("--dsn", embedded_dsn, "--json", str(tmp_path / "matrix-copy.json")),
            *SHORT_ROWS,
        ],
    )
    assert result.exit_code == 1, result.output  # a leak in one column fails the command
    reports = tmp_path / "r"
    matrix = json.loads((reports / "matrix.json").read_text())
    # Every target's output is kept, in one folder per combination.
    kept = sorted((reports / "logs").iterdir())
    assert len(kept) == 3
    assert all(any(folder.glob("*.log")) for folder in kept)
    assert json.loads((tmp_path / "matrix-copy.json").read_text()) == matrix  # run's --json
    columns = {c["combination"]["fastapi"]: c for c in matrix["columns"]}
    assert list(columns) == ["0.95.2", "0.117.1", "0.118.0"]

    def verdicts(pattern: str) -> list[str]:
        return [
            cell["verdict"]
            for column in columns.values()
            for cell in column["cells"]
            if cell["pattern"] == pattern
        ]

    # Before 0.106 and from 0.118 on, the dependency exits after the background task;
    # from 0.106 to 0.117 before it, and the task reopens a connection nobody closes.
    assert verdicts("background-request-session") == ["CLEAN", "LEAKED", "CLEAN"]
    assert columns["0.117.1"]["cells"][0]["leaked_connections"] > 0
    # Depends(scope=...) is new in 0.121: not run on these versions, and said so.
    assert verdicts("background-function-scope") == ["n/a", "n/a", "n/a"]
    assert columns["0.95.2"]["not_applicable"] == {
        "background-function-scope": "needs fastapi>=0.121, has 0.95.2"
    }
    assert (
        "n/a: background-function-scope needs fastapi>=0.121; not run on "
        "fastapi 0.95.2, sqlalchemy 2.0.14; fastapi 0.117.1, sqlalchemy 2.0.14; "
        "fastapi 0.118.0, sqlalchemy 2.0.14"
    ) in result.output
    for version, column in columns.items():
        report = json.loads((reports / column["report"]).read_text())
        assert report["combination"] == {"fastapi": version, "sqlalchemy": "2.0.14"}
        # Recorded from the target's environment, not from leakbench's own.
        assert report["versions"]["fastapi"] == version
        assert report["versions"]["sqlalchemy"] == "2.0.14"
        # The probe ran inside the target on these versions and counted the pool.
        pool = report["rows"][0]["pool_after_settle"]
        assert pool is not None
        assert pool["checkouts"] > 0
    for name in ("matrix.md", "matrix.html"):
        assert "background-request-session" in (reports / name).read_text()


@pytest.mark.usefixtures("local_index")
def test_a_second_prepare_of_the_same_combination_reuses_its_environment(
    tmp_path: Path,
) -> None:
    cache = EnvironmentCache(tmp_path / "envs")
    combination = Combination((("fastapi", "0.118.0"), ("sqlalchemy", "2.0.14")))
    first = cache.prepare(combination, requirements(combination))
    again = cache.prepare(combination, requirements(combination))
    assert not first.reused
    assert again.reused
    assert again.python == first.python
    assert again.key == first.key
    assert first.version("fastapi") == "0.118.0"
    assert [p.name for p in (tmp_path / "envs").iterdir()] == [first.key]  # no build left over
    seen = check(TargetInterpreter(str(first.python))).packages
    assert seen["fastapi"] == "0.118.0"
    assert seen["sqlalchemy"] == "2.0.14"
    assert seen["httpx2"] == "not installed"  # leakbench's own dependencies stay out


@pytest.mark.usefixtures("local_index")
def test_a_version_that_does_not_exist_is_one_line_naming_the_combination_exit_2(
    tmp_path: Path,
) -> None:
    result = runner.invoke(
        app,
        [
            "matrix",
            *("-p", "with-session", "--versions", "fastapi=0.118.0,9.9.9"),
            # The good combination's environment is the other tests' (a resolution
            # that fails builds nothing, so the shared cache stays as it was).
            *("--env-cache", str(wheelhouse.ENV_CACHE), "--report-dir", str(tmp_path / "r")),
        ],
    )
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2  # the good combination's environment, then the error
    assert lines[-1].startswith("error: The combination fastapi 9.9.9 cannot be installed:")
    assert "fastapi==9.9.9" in lines[-1]
    assert "Traceback" not in result.output


def test_an_unreachable_package_index_is_one_line_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UV_DEFAULT_INDEX", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv"))  # nothing cached to fall back on
    monkeypatch.setenv("UV_HTTP_RETRIES", "0")
    for name in ("UV_NO_INDEX", "UV_FIND_LINKS", "UV_OFFLINE", "UV_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    result = runner.invoke(
        app,
        [
            "matrix",
            *("-p", "with-session", "--versions", "fastapi=0.118.0"),
            *("--env-cache", str(tmp_path / "envs"), "--report-dir", str(tmp_path / "r")),
        ],
    )
    assert result.exit_code == 3, result.output
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: Could not resolve the combination fastapi 0.118.0:")
    assert "Connection refused" in line


@pytest.mark.usefixtures("local_index")
def test_the_driver_axis_switches_the_scenarios_sync_engine_only(tmp_path: Path) -> None:
    (combination,) = combinations(parse_axes(list(wheelhouse.DRIVER_VERSIONS)))
    environment = EnvironmentCache(wheelhouse.ENV_CACHE).prepare(
        combination, requirements(combination)
    )
    assert environment.version("psycopg2-binary") is not None
    interpreter = TargetInterpreter(
        str(environment.python),
        (str(wheelhouse.ROOT),),
        (("LEAKBENCH_DRIVER", "psycopg2"), ("DATABASE_URL", "postgresql://u@127.0.0.1:1/db")),
    )
    shown = subprocess.run(
        [
            interpreter.executable,
            "-c",
            "import leakbench.scenarios.with_session, leakbench.scenarios._app as a;"
            "print(a.engine.dialect.driver, a.async_engine.dialect.driver)",
        ],
        env=interpreter.environment(os.environ),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    # Creating an engine opens no connection, so the port need not answer.
    assert shown.stdout.split() == ["psycopg2", "psycopg"]


@pytest.mark.slow
@pytest.mark.usefixtures("local_index")
def test_cancelled_handlers_leak_asyncpg_connections_before_sqlalchemy_2_0_38(
    tmp_path: Path, embedded_dsn: str
) -> None:
    """sqlalchemy/sqlalchemy#12077, measured in docs/leaks.md: 2.0.37 leaks, 2.0.38 far less."""
    result = runner.invoke(
        app,
        [
            "matrix",
            *("-p", "cancelled-asyncpg", "--abort", "50%"),
            *(f"--versions={axis}" for axis in wheelhouse.CANCEL_VERSIONS),
            *("--env-cache", str(wheelhouse.ENV_CACHE), "--report-dir", str(tmp_path / "r")),
            *("--dsn", embedded_dsn, "-c", "20", "-d", "2", "--settle", "2", "--no-live"),
        ],
    )
    assert result.exit_code == 1, result.output  # the leak on 2.0.37 fails the command
    reports = tmp_path / "r"
    matrix = json.loads((reports / "matrix.json").read_text())
    cells = {c["combination"]["sqlalchemy"]: c["cells"][0] for c in matrix["columns"]}
    assert cells["2.0.37"]["verdict"] == "LEAKED", cells
    assert cells["2.0.37"]["leaked_connections"] > 1
    # CLEAN in every run alone; on a loaded CI machine, 1 or 2 connections (docs/leaks.md).
    assert cells["2.0.38"]["leaked_connections"] < cells["2.0.37"]["leaked_connections"], cells
    # The handlers were cancelled in both columns: the scenario counted them in its log.
    for folder in sorted((reports / "logs").iterdir()):
        log = "".join(path.read_text() for path in folder.glob("*.log*"))
        assert "leakbench-scenario: cancelled on disconnect" in log, folder.name


PLAIN_SQLALCHEMY_APP = """
import os

from fastapi import FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg2://", 1)
engine = create_engine(url, pool_size=2, max_overflow=3)
app = FastAPI()


@app.post("/ok")
def ok() -> dict:
    with Session(engine) as session:
        session.execute(text("SELECT 1"))
    return {"ok": True}
"""


@pytest.mark.slow
@pytest.mark.usefixtures("local_index")
def test_the_probe_counts_the_pool_of_an_app_on_sqlalchemy_1_4(
    tmp_path: Path, embedded_dsn: str
) -> None:
    app_file = tmp_path / "plain" / "main.py"
    app_file.parent.mkdir()
    app_file.write_text(PLAIN_SQLALCHEMY_APP)
    reports = tmp_path / "reports"
    result = runner.invoke(
        app,
        [
            "matrix",
            *("--app", f"{app_file}:app", "-e", "/ok"),
            *(f"--versions={axis}" for axis in wheelhouse.PROBE_VERSIONS),
            *("--env-cache", str(wheelhouse.ENV_CACHE), "--report-dir", str(reports)),
            *("--dsn", embedded_dsn),
            *SHORT_ROWS,
        ],
    )
    assert result.exit_code == 0, result.output
    (column,) = json.loads((reports / "matrix.json").read_text())["columns"]
    report = json.loads((reports / column["report"]).read_text())
    assert report["versions"]["sqlalchemy"] == "1.4.54"
    (row,) = report["rows"]
    assert row["verdict"] == "CLEAN"
    pool = row["pool_after_settle"]
    assert pool["checkouts"] > 0
    assert pool["checkouts"] == pool["checkins"]
    assert pool["capacity"] == 5  # read from the app's own QueuePool: 2 + 3
