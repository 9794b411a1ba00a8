"""`leakbench matrix` takes run's options, declared and parsed once, plus its own versions.

Through typer's runner and the options' dataclasses; nothing starts (the usage
errors below are found before any environment is built).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._settings.matrix import Axis, default_cache_dir
from leakbench._settings.options import MatrixOptions, RunOptions

runner = CliRunner()
ATTACH_AND_METRICS = {"url", "application_name", "allow_remote", "prometheus_port"}
# The matrix runs targets on its environments' interpreters, never the project's.
PROJECT_INTERPRETER = {"python"}
MATRIX_ONLY = {"versions", "with_requirements", "env_cache"}


def _params(command: str) -> dict[str, Any]:
    """The command's parsed parameters (click's), by name."""
    group = get_command(app)
    params = group.commands[command].params  # type: ignore[attr-defined]  # a group's commands
    return {param.name: param for param in params}


def test_matrix_has_runs_options_but_attach_mode_and_metrics_and_its_own() -> None:
    run, matrix = _params("run"), _params("matrix")
    assert set(matrix) == (set(run) - ATTACH_AND_METRICS - PROJECT_INTERPRETER) | MATRIX_ONLY
    for name in set(run) & set(matrix) - {"report_dir"}:  # the report folder says what it holds
        shared, own = run[name], matrix[name]
        assert (shared.opts, shared.default, shared.envvar) == (own.opts, own.default, own.envvar)
        assert shared.help == own.help
    assert matrix["versions"].required


def test_matrix_help_groups_the_shared_options_in_runs_panels() -> None:
    result = runner.invoke(app, ["matrix", "-h"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    panels = ["Versions", "Targets", "Database", "Load", "Requests", "Pool", "Verdict"]
    positions = [result.output.index(f"─ {panel}") for panel in panels]
    assert positions == sorted(positions)
    assert "env var: LEAKBENCH_DSN" in result.output
    assert "matrix.json, matrix.md, matrix.html" in result.output
    options = result.output.split("─ Versions")[1]  # the panels, after the description
    assert "Attach mode" not in options
    assert all(option not in options for option in ("--url", "--prometheus-port"))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], "error: Missing option '--versions'."),
        (["--url", "http://127.0.0.1:1"], "error: No such option: --url"),
        (["--prometheus-port", "0"], "error: No such option: --prometheus-port"),
        # run's checks, found by the same parsing.
        (["--versions", "fastapi=0.118.0", "-c", "0"], "error: --concurrency 0 is out of range"),
        (["--versions", "fastapi=0.118.0", "--timeout", "0"], "error: --timeout 0 is invalid"),
        (["--versions", "fastapi=0.118.0", "--max-error-rate", "x"], "error: --max-error-rate"),
        # The matrix's own.
        (["--versions", "fastapi"], "error: --versions 'fastapi'"),
        (["--versions", "fastapi=1", "--versions", "fastapi=2"], "error: --versions fastapi is"),
    ],
)
def test_a_matrix_usage_error_is_one_line_and_exit_2(args: list[str], expected: str) -> None:
    result = runner.invoke(app, ["matrix", *args])
    assert result.exit_code == 2, result.output
    (line,) = result.output.splitlines()
    assert line.startswith(expected), line


def test_matrix_options_map_onto_runs_config_and_the_axes(tmp_path: Path) -> None:
    run = RunOptions(pattern=("with-session",), endpoint=("/ok",), duration=2.0, concurrency=20)
    config = MatrixOptions(
        run, ("fastapi=0.117.1,0.118.0", "driver=psycopg2"), ("httpx>=0.27",), tmp_path
    ).config()
    assert config.run == run.config()
    assert config.axes == (
        Axis("fastapi", ("0.117.1", "0.118.0")),
        Axis("driver", ("psycopg2",)),
    )
    assert config.extra_requirements == ("httpx>=0.27",)
    assert config.env_cache == tmp_path
    assert MatrixOptions(run, ("fastapi=latest",)).config().env_cache == default_cache_dir()


def test_the_matrix_command_builds_its_options_from_every_parameter() -> None:
    """matrix_command passes its own parameters to MatrixOptions and run's to RunOptions."""
    names = set(_params("matrix"))
    run_fields = {field.name for field in dataclasses.fields(RunOptions)} - {"settings_file"}
    own_fields = {field.name for field in dataclasses.fields(MatrixOptions)} - {"run"}
    # settings_file is not an option: `run` fills it from the settings it read.
    assert names == (run_fields - ATTACH_AND_METRICS - PROJECT_INTERPRETER - {"settings_file"}) | (
        own_fields
    )
