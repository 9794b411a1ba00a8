"""Which Python runs the app (leakbench._targets.interpreter): the order of the choice, on
real virtual environments (the integration test asks them)."""

from __future__ import annotations

import sys
import venv
from pathlib import Path

import pytest

from leakbench._settings import TargetInterpreter
from leakbench._settings.interpreter import choose, target_interpreter
from leakbench._targets.interpreter import check
from leakbench.errors import UsageError


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real virtual environment with nothing installed (no uvicorn)."""
    folder = tmp_path_factory.mktemp("bare") / ".venv"
    venv.create(folder, with_pip=False, symlinks=True)
    return folder


def test_python_option_wins_and_takes_a_venv_folder_or_its_python(bare_venv: Path) -> None:
    environ = {"VIRTUAL_ENV": sys.prefix}
    by_folder = choose(bare_venv, None, environ)
    by_python = choose(bare_venv / "bin" / "python", None, environ)
    assert by_folder.executable == by_python.executable == bare_venv / "bin" / "python"
    assert by_folder.reason == "--python"
    assert not by_folder.is_own


def test_a_python_option_that_is_no_python_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--python .*missing: no Python interpreter there"):
        choose(tmp_path / "missing", None, {})


def test_then_the_active_venv_then_a_venv_beside_the_settings_then_leakbench_own(
    bare_venv: Path, tmp_path: Path
) -> None:
    settings = bare_venv.parent / "leakbench.toml"
    active = choose(None, settings, {"VIRTUAL_ENV": str(bare_venv)})
    assert active.reason == "the active VIRTUAL_ENV"
    beside = choose(None, settings, {})
    assert beside.executable == bare_venv / "bin" / "python"
    assert "beside leakbench.toml" in beside.reason
    own = choose(None, tmp_path / "pyproject.toml", {})
    assert own.is_own
    assert target_interpreter(own) == TargetInterpreter.current()


def test_leakbench_own_venv_active_is_leakbench_own() -> None:
    assert choose(None, None, {"VIRTUAL_ENV": sys.prefix}).is_own


def test_a_stale_virtual_env_variable_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"VIRTUAL_ENV=.* has no bin/python"):
        choose(None, None, {"VIRTUAL_ENV": str(tmp_path)})


def test_leakbench_own_interpreter_reports_its_versions() -> None:
    report = check(TargetInterpreter.current())
    assert report.packages["python"] == report.python
    assert report.packages["uvicorn"] != "not installed"


def test_the_command_line_refuses_a_python_that_is_not_there(tmp_path: Path) -> None:
    from typer.testing import CliRunner  # noqa: PLC0415 - the command line only here

    from leakbench._cli import app  # noqa: PLC0415

    result = CliRunner().invoke(
        app, ["run", "--python", str(tmp_path / "nope"), "--app", "main.py:app", "-e", "/x"]
    )
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: --python {tmp_path / 'nope'}: no Python interpreter there; give the path of "
        "the project's Python (e.g. .venv/bin/python) or of its virtual environment."
    ]
