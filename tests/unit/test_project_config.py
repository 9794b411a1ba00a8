"""[tool.leakbench] / leakbench.toml: defaults for `leakbench run`, checked by a derived schema.

These runs all stop at a usage error, before any server or target starts.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._settings import project_file as project_config

runner = CliRunner()


def _write(folder: Path, body: str, name: str = "pyproject.toml") -> None:
    (folder / name).write_text(body)


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["run", "--no-live", *args])
    return result.exit_code, " ".join(result.output.split())


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            "concurency = 8",
            "pyproject.toml [tool.leakbench]: unknown key 'concurency' "
            "(did you mean 'concurrency'?)",
        ),
        ("concurrency = '8'", "concurrency: input should be a valid integer (got '8')"),
        ("duration = 'long'", "duration: input should be a valid number (got 'long')"),
        ("fail-on-leak = 1", "fail-on-leak: input should be a valid boolean (got 1)"),
        ("header = 3", "header: input should be a valid list (got 3)"),
        ("[[tool.leakbench.mix]]\npath = '/x'\nwieght = 2", "mix.0: unknown key 'wieght'"),
    ],
)
def test_an_unknown_key_or_a_wrong_type_is_one_line_naming_it(
    tmp_path: Path, section: str, message: str
) -> None:
    _write(tmp_path, f"[project]\nname = 'x'\n\n[tool.leakbench]\n{section}\n")
    code, output = _run()
    assert code == 2, output
    assert message in output
    assert output.count("error:") == 1 and "Traceback" not in output


def test_the_settings_are_the_run_defaults_and_options_override_them(tmp_path: Path) -> None:
    _write(tmp_path, "[tool.leakbench]\npattern = ['nope']\nconcurrency = 0\n")
    code, output = _run()
    assert code == 2 and "Settings from pyproject.toml" in output
    assert "--concurrency 0 is out of range" in output  # the file's concurrency
    code, output = _run("-c", "5")
    assert code == 2 and "Unknown pattern 'nope'" in output  # the file's pattern
    code, output = _run("-p", "with-session")
    assert code == 2 and "--concurrency 0 is out of range" in output
    code, output = _run("-c", "5", "-p", "with-session", "--setup-cmd", "'unbalanced")
    assert code == 2 and '--setup-cmd "\'unbalanced" cannot be split' in output


def test_leakbench_toml_wins_and_one_value_stands_for_a_list(tmp_path: Path) -> None:
    _write(tmp_path, "[tool.leakbench]\nconcurrency = 0\n")
    _write(tmp_path, "pattern = 'nope'\n", name="leakbench.toml")
    code, output = _run()
    assert code == 2 and "Settings from leakbench.toml" in output
    assert "Unknown pattern 'nope'" in output


def test_a_broken_file_is_a_usage_error_for_run_only(tmp_path: Path) -> None:
    _write(tmp_path, "[tool.leakbench\n")
    code, output = _run()
    assert code == 2 and "pyproject.toml is not valid TOML" in output
    assert runner.invoke(app, ["scenarios"]).exit_code == 0


def test_a_folder_without_settings_changes_nothing(tmp_path: Path) -> None:
    _write(tmp_path, "[project]\nname = 'x'\n")
    code, output = _run("-p", "nope")
    assert code == 2 and "Settings from" not in output


def test_every_long_option_of_run_has_a_key() -> None:
    command = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    schema = project_config.schema_for(command)
    keys = {field.alias for field in schema.model_fields.values()}
    options = {project_config.option_key(p) for p in command.params} - {None, "help"}
    assert options == keys
    assert {"header", "mix", "login-form", "setup-cmd", "app-env", "json"} <= keys


def test_help_still_works_with_a_broken_file(tmp_path: Path) -> None:
    _write(tmp_path, "[tool.leakbench]\nconcurency = 8\n")
    result = runner.invoke(app, ["run", "--help"])
    assert result.exit_code == 0 and "--setup-cmd" in result.output


def test_a_bare_run_without_settings_is_a_usage_error(tmp_path: Path) -> None:
    """No target and no settings: exit 2 saying what to give, never a default run."""
    (tmp_path / ".git").mkdir()  # the search stops at the repository's root
    code, output = _run()
    assert code == 2, output
    assert output.startswith("error: Nothing to run: no leakbench.toml or pyproject.toml")
    assert "--app module:app" in output and "--pattern both" in output
    assert "Settings from" not in output


def test_settings_are_found_up_to_the_repository_root(tmp_path: Path) -> None:
    """From a subfolder, the nearest settings above are used, paths relative to their file."""
    project = tmp_path / "repo" / "service"
    deep = project / "app" / "api"
    deep.mkdir(parents=True)
    (tmp_path / "repo" / ".git").mkdir()
    _write(project, "[project]\nname = 'x'\n")  # no section: the search goes on
    _write(
        project.parent,
        "[tool.leakbench]\napp = 'svc/main.py:app'\nsetup-sql = 'schema.sql'\nreport-dir = 'out'\n",
    )
    command = typer.main.get_command(app).commands["run"]  # type: ignore[attr-defined]
    found = project_config.discover(deep)
    assert found is not None and found[0] == project.parent / "pyproject.toml"
    values = project_config.default_map(command, *found)
    root = project.parent
    assert values["app_spec"] == [f"{root / 'svc' / 'main.py'}:app"]
    assert values["setup_sql"] == str(root / "schema.sql")
    assert values["report_dir"] == str(root / "out")
    assert values["app_dir"] == str(root)
    # Above the repository's root nothing is looked at.
    _write(tmp_path, "[tool.leakbench]\npattern = 'both'\n")
    (project.parent / "pyproject.toml").unlink()
    assert project_config.discover(deep) is None


def test_the_first_line_names_the_settings_file_found_above(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".git").mkdir()
    _write(tmp_path, "[tool.leakbench]\npattern = 'nope'\n")
    sub = tmp_path / "sub"
    sub.mkdir()
    monkeypatch.chdir(sub)
    code, output = _run()
    assert code == 2
    assert output.startswith(f"Settings from {tmp_path / 'pyproject.toml'};")
    assert "Unknown pattern 'nope'" in output
