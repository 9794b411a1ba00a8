"""Apps leakbench did not start: attached without the probe, a row it cannot vouch for is
INCONCLUSIVE; run under ``leakbench probe``, the same app's pools are seen and it is LEAKED.

The apps are started by the test, as a user would (uvicorn on a free port), on a
database of their own; leakbench attaches with ``--url`` and ``--dsn``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._settings import dsn as dsn_tools
from leakbench._system.processes import stop_process_group
from leakbench._targets import autoload
from leakbench._targets.autoload import PROBE_DIR_ENV
from leakbench._targets.probe import CONTROL_DIR_ENV
from tests.integration.test_attach import _clean_environment, _wait_until_up, run_cli

LOAD = ["-c", "10", "-d", "1", "--settle", "2", "--request-timeout", "3", "--no-live"]

# Keeps every connection it checks out, after its commit: idle to PostgreSQL, out of the
# pool for good; once the pool is empty the next requests wait pool_timeout and fail.
KEEPS_CONNECTIONS = """
    import os
    from fastapi import FastAPI
    from sqlalchemy import create_engine, text

    engine = create_engine(os.environ["APP_DATABASE_URL"], pool_size=5, max_overflow=5,
                           pool_timeout=1)
    KEPT = []
    app = FastAPI()

    @app.post("/orders")
    def create_order():
        conn = engine.connect()
        conn.execute(text("SELECT 1"))
        conn.commit()
        KEPT.append(conn)  # "reused later": never
        return {"ok": True}
"""
# An engine per request, its session closed: each pool keeps its connection open.
ENGINE_PER_REQUEST = """
    import os
    from fastapi import Depends, FastAPI
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    def get_db():
        engine = create_engine(os.environ["APP_DATABASE_URL"])
        with Session(engine) as session:
            yield session

    app = FastAPI()

    @app.post("/orders")
    def create_order(db: Session = Depends(get_db)):
        return {"total": db.execute(text("SELECT 1")).scalar_one()}
"""

# psycopg_pool's own pool, no SQLAlchemy: every third request's error path never gives back the
# connection it took; the collector closes it and the pool still counts it out.
LOSES_PSYCOPG_POOL_CONNECTIONS = """
    import itertools, os
    from fastapi import FastAPI, HTTPException
    from psycopg_pool import ConnectionPool

    url = os.environ["APP_DATABASE_URL"].replace("+psycopg", "")
    pool = ConnectionPool(url, min_size=1, max_size=4, timeout=1, open=True)
    numbers = itertools.count(1)
    app = FastAPI()

    @app.post("/orders")
    def create_order():
        conn = pool.getconn()
        conn.execute("SELECT 1")
        if next(numbers) % 3 == 0:
            raise HTTPException(409)
        pool.putconn(conn)
        return {"ok": True}
"""


@pytest.fixture
def probe_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    # Short: a Unix socket's path is limited to about 100 bytes.
    folder = Path(tempfile.mkdtemp(prefix="lbp-"))
    monkeypatch.setenv(PROBE_DIR_ENV, str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def started_by_hand(
    source: str, database_dsn: str, app_dir: Path, *, probe: Path | None
) -> Iterator[str]:
    """The app under uvicorn, started as a user would: under ``leakbench probe`` when asked."""
    (app_dir / "shop.py").write_text(textwrap.dedent(source))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    args = [sys.executable, "-m", "uvicorn", "shop:app", "--app-dir", str(app_dir)]
    args += ["--fd", str(listener.fileno()), "--log-level", "warning"]
    env = _clean_environment()
    env["APP_DATABASE_URL"] = dsn_tools.to_url(
        dsn_tools.validate(database_dsn), scheme="postgresql+psycopg"
    )
    if probe is not None:
        args = [sys.executable, "-m", "leakbench", "probe", "--", *args]
        env[PROBE_DIR_ENV] = str(probe)
    log = app_dir / "app.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            args,
            env=env,
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


@pytest.fixture
def database_dsn(embedded_dsn: str, owned_database: str) -> str:
    return dsn_tools.with_database(embedded_dsn, owned_database)


def attach(tmp_path: Path, url: str, database_dsn: str) -> tuple[int, str]:
    return run_cli(tmp_path, "--url", url, "--dsn", database_dsn, "-e", "POST /orders", *LOAD)


def test_connections_kept_idle_are_inconclusive_unseen_and_leaked_seen(
    tmp_path: Path, database_dsn: str, probe_dir: Path
) -> None:
    with started_by_hand(KEEPS_CONNECTIONS, database_dsn, tmp_path, probe=None) as url:
        code, output = attach(tmp_path, url, database_dsn)
    assert code == 4, output
    assert "INCONCLUSIVE" in output and "leakbench probe -- uvicorn" in output, output
    with started_by_hand(KEEPS_CONNECTIONS, database_dsn, tmp_path, probe=probe_dir) as url:
        code, output = attach(tmp_path, url, database_dsn)
    assert code == 1, output
    assert "LEAKED" in output, output
    assert re.search(r"checked out at \S*shop\.py:13 in create_order", output), output


def test_an_engine_per_request_attached_with_the_probe_is_leaked(
    tmp_path: Path, database_dsn: str, probe_dir: Path
) -> None:
    with started_by_hand(ENGINE_PER_REQUEST, database_dsn, tmp_path, probe=probe_dir) as url:
        code, output = attach(tmp_path, url, database_dsn)
    assert code == 1, output
    assert "engines never disposed" in output or "engine pool(s) were made" in output, output
    assert re.search(r"\S*shop\.py:8 in get_db", output), output


def test_a_psycopg_pool_app_attached_with_the_probe_is_lost_by_the_pool(
    tmp_path: Path, database_dsn: str, probe_dir: Path
) -> None:
    source = LOSES_PSYCOPG_POOL_CONNECTIONS
    with started_by_hand(source, database_dsn, tmp_path, probe=probe_dir) as url:
        code, output = attach(tmp_path, url, database_dsn)
    assert code == 1, output
    text = " ".join(output.split())
    assert "LEAKED" in text and "lost by the pool" in text.lower(), output
    assert "psycopg_pool" in text and "still had 4 connection(s) checked out" in text, output


def test_watch_reads_the_probe_of_an_app_run_under_leakbench_probe(
    tmp_path: Path, database_dsn: str, probe_dir: Path
) -> None:
    with started_by_hand(KEEPS_CONNECTIONS, database_dsn, tmp_path, probe=probe_dir) as url:
        # Another tool's load: 12 requests in turn (the last 2 wait for the pool, and fail).
        load = (
            "import contextlib, httpx2\n"
            "for _ in range(12):\n"
            "    with contextlib.suppress(httpx2.HTTPError):  # a 500 closes the connection\n"
            f"        httpx2.post('{url}/orders', timeout=5)\n"
        )
        script = tmp_path / "load.py"
        script.write_text(load)
        result = CliRunner().invoke(
            app,
            ["watch", "--dsn", database_dsn, "--settle", "2", "--no-live",
             "--report-dir", str(tmp_path / "watch-reports"), "--", sys.executable, str(script)],
        )  # fmt: skip
    output = " ".join(result.output.split())
    assert result.exit_code == 1, output
    assert re.search(r"checked out at \S*shop\.py:13 in create_order", output), output


def test_the_probe_dir_is_the_users_own_and_sockets_of_dead_processes_go(tmp_path: Path) -> None:
    folder = tmp_path / "probes"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    folder.mkdir()
    (folder / f"ctl-{dead}.sock").touch()
    (folder / f"ctl-{os.getpid()}.sock").touch()
    autoload.prepare(folder)
    assert [p.name for p in folder.iterdir()] == [f"ctl-{os.getpid()}.sock"]
    assert autoload.probe_dir({PROBE_DIR_ENV: str(folder)}) == folder
    assert str(os.getuid()) in autoload.probe_dir({}).name


def test_python_started_with_the_environment_loads_the_probe(tmp_path: Path) -> None:
    """A real interpreter, as the command's processes get it: the probe answers in the folder,
    and a sitecustomize of the environment's own still runs."""
    own = tmp_path / "own"
    own.mkdir()
    (own / "sitecustomize.py").write_text("import builtins\nbuiltins.OWN_SITECUSTOMIZE = True\n")
    folder = Path(tempfile.mkdtemp(prefix="lbp-"))
    env = autoload.environment({**os.environ, "PYTHONPATH": str(own)}, folder)
    assert env[CONTROL_DIR_ENV] == str(folder)
    autoload.prepare(folder)
    # The probe is loaded as a private package of its own (see test_probe_isolation.py).
    code = (
        "import builtins, sys; probe = sys.modules['_leakbench_probe.probe']; "
        "print(probe.COUNTERS.sqlalchemy, getattr(builtins, 'OWN_SITECUSTOMIZE', False))"
    )
    try:
        shown = subprocess.run(
            [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
        ).stdout.split()
    finally:
        for path in folder.glob("*"):
            path.unlink()
        folder.rmdir()
    assert shown == ["True", "True"]
