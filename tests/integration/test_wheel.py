"""leakbench as a user installs it: the built wheel, in an environment of its own.

The wheel and sdist are built (``uv build``: the sdist first, the wheel from
it) and checked with ``twine check``. The wheel is installed with the
scenarios' extra into a fresh environment, as ``pipx``/``uv tool`` would, and
runs the pull request's two scenarios. Then an app whose own environment is
pinned to FastAPI 0.110 and SQLAlchemy 2.0.25 (older than leakbench's
scenarios need) is judged by that installed leakbench on exactly those
versions, through a ``.venv`` beside its ``leakbench.toml``; and installing
the wheel into the app's environment with pip changes none of its versions.
Everything installs from the local wheelhouse (tests/integration/wheelhouse.py),
never the package index.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from leakbench import __version__
from leakbench._matrix.environments import find_uv
from tests.integration import wheelhouse

_APP = """\
import os

from fastapi import Depends, FastAPI
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
engine = create_engine(url, pool_size=2, max_overflow=3, pool_timeout=2)
SessionLocal = sessionmaker(engine)
app = FastAPI()
kept = []


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


@app.get("/items")
def items(db: Session = Depends(get_db)):
    return {"one": db.execute(text("select 1")).scalar_one()}


@app.get("/leak")
def leak():
    db = SessionLocal()
    db.execute(text("select 1"))
    kept.append(db)  # never closed: its connection stays checked out, idle in transaction
    return {"kept": len(kept)}
"""
_SETTINGS = """\
app = ["main.py:app"]
endpoint = ["GET /items", "GET /leak"]
concurrency = 4
duration = 1
settle = 1
live = false
startup-timeout = 120
"""


def _environ() -> dict[str, str]:
    """uv on the wheelhouse only; no virtual environment of the test run leaks in."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    env |= {
        "UV_NO_INDEX": "1",
        "UV_FIND_LINKS": str(wheelhouse.WHEELHOUSE),
        "UV_CACHE_DIR": str(wheelhouse.UV_CACHE),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheelhouse.WHEELHOUSE),
    }
    return env


def _call(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=_environ(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done


def _freeze(python: Path) -> dict[str, str]:
    """Every distribution installed in ``python``'s environment and its version."""
    listed = _call(find_uv(), "pip", "list", "--format", "json", "--python", python).stdout
    return {item["name"].lower(): item["version"] for item in json.loads(listed)}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheelhouse.prepare()
    out = tmp_path_factory.mktemp("dist")
    _call(find_uv(), "build", "--out-dir", out, wheelhouse.ROOT)
    return out


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """leakbench[scenarios] from the wheel, alone in a fresh environment: its bin folder."""
    tool = tmp_path_factory.mktemp("tool") / "venv"
    (wheel,) = dist.glob("*.whl")
    _call(find_uv(), "venv", "--quiet", "--python", sys.executable, tool)
    _call(find_uv(), "pip", "install", "--python", tool / "bin" / "python", f"{wheel}[scenarios]")
    return tool / "bin"


def test_the_wheel_and_sdist_pass_twine_and_ship_the_scenarios_inside_leakbench(
    dist: Path,
) -> None:
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    assert wheel.name == f"leakbench-{__version__}-py3-none-any.whl"
    checked = _call(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist)
    assert checked.stdout.count("PASSED") == 2, checked.stdout
    names = zipfile.ZipFile(wheel).namelist()
    # Nothing installed beside leakbench: no top-level `scenarios` to shadow a project's own.
    assert {name.split("/")[0] for name in names} == {
        "leakbench",
        f"leakbench-{__version__}.dist-info",
    }
    assert "leakbench/scenarios/with_session.py" in names
    assert "leakbench/py.typed" in names
    assert f"leakbench-{__version__}.dist-info/licenses/LICENSE" in names
    metadata = zipfile.ZipFile(wheel).read(f"leakbench-{__version__}.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in metadata
    assert "Classifier: Framework :: FastAPI" in metadata
    assert "Project-URL: Changelog" in metadata
    # The app's stack is an extra, never a requirement of leakbench itself.
    requires = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:")]
    for package in ("fastapi", "uvicorn", "sqlmodel", "sqlalchemy", "uv"):
        plain = [r for r in requires if r.split()[1].split("[")[0].lower() == package]
        assert all("extra ==" in r for r in plain), plain
    with tarfile.open(sdist) as archive:
        members = archive.getnames()
    assert f"leakbench-{__version__}/LICENSE" in members
    assert f"leakbench-{__version__}/leakbench/scenarios/with_session.py" in members


def test_the_installed_wheel_runs_the_prs_two_scenarios(
    installed: Path, tmp_path: Path, embedded_dsn: str
) -> None:
    report = tmp_path / "report.json"
    _call(
        installed / "leakbench",
        *("run", "--pattern", "both", "-e", "/ok", "-c", "4", "-d", "1", "--settle", "1"),
        # A fresh environment's first imports compile every module: slow on a busy machine.
        *("--startup-timeout", "120"),
        *("--no-live", "--dsn", embedded_dsn, "--json", report, "--report-dir", tmp_path / "r"),
        cwd=tmp_path,
    )
    rows = json.loads(report.read_text())["rows"]
    assert [(row["pattern"], row["verdict"]) for row in rows] == [
        ("with-session", "CLEAN"),
        ("try-finally", "CLEAN"),
    ]


def test_an_app_is_judged_on_its_own_versions_and_installing_leakbench_changes_none(
    installed: Path, dist: Path, tmp_path: Path, embedded_dsn: str
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "main.py").write_text(_APP)
    (project / "leakbench.toml").write_text(_SETTINGS)
    python = project / ".venv" / "bin" / "python"
    _call(find_uv(), "venv", "--quiet", "--seed", "--python", sys.executable, project / ".venv")
    _call(find_uv(), "pip", "install", "--python", python, *wheelhouse.APP_PINS)
    pinned = _freeze(python)

    report = tmp_path / "report.json"
    judged = subprocess.run(
        [
            *(str(installed / "leakbench"), "run", "--dsn", embedded_dsn),
            *("--json", str(report), "--report-dir", str(tmp_path / "r")),
        ],
        cwd=project,
        env=_environ(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert judged.returncode == 1, judged.stdout + judged.stderr  # /leak leaks
    assert f"The app runs on {python} ({project / '.venv'}, beside leakbench.toml)" in (
        " ".join(judged.stderr.split())
    )
    result = json.loads(report.read_text())
    versions = result["versions"]
    assert (versions["fastapi"], versions["sqlalchemy"]) == ("0.110.0", "2.0.25")
    assert (versions["starlette"], versions["uvicorn"]) == (pinned["starlette"], "0.29.0")
    assert "FastAPI 0.110.0 · Starlette 0.36.3 · SQLAlchemy 2.0.25" in judged.stdout
    assert [(row["endpoint"], row["verdict"]) for row in result["rows"]] == [
        ("GET /items", "CLEAN"),
        ("GET /leak", "LEAKED"),
    ]

    (wheel,) = dist.glob("*.whl")
    _call(python, "-m", "pip", "install", "--quiet", wheel)
    after = _freeze(python)
    assert after["leakbench"] == __version__
    assert {name: after.get(name) for name in pinned} == pinned
