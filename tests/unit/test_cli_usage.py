"""Bad input through the real CLI: a one-line error naming the value, exit 2, no traceback.

None of these needs a database or a target: validation runs before anything starts.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakbench._cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--pattern", "nope"], "Unknown pattern 'nope'; choose one of: both, all, with-session"),
        (["--endpoint", "FETCH /x"], "unknown method 'FETCH'"),
        (["--endpoint", "POST /a /b"], "is malformed; write 'METHOD /path'"),
        (["--concurrency", "0"], "--concurrency 0 is out of range"),
        (["--concurrency", "-5"], "--concurrency -5 is out of range"),
        (["--duration", "-1"], "--duration -1 is out of range"),
        (["--requests", "0"], "--requests 0 is out of range"),
        (["--pool-size", "0"], "--pool-size 0 is invalid"),
        (["--settle", "-1"], "--settle -1 is out of range"),
        (["--dsn", "mysql://u:p@h/db"], "The DSN scheme 'mysql' is not PostgreSQL's"),
        (["--dsn", "host=x port=abc"], "non-numeric port 'abc'"),
        (["--app", "no_colon_here"], "--app 'no_colon_here' is malformed"),
        (["--app", "missing/file.py:app"], "does not exist; check the path"),
        (["--json", "/nonexistent-dir/r.json"], "the folder /nonexistent-dir does not exist"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], expected: str) -> None:
    result = runner.invoke(app, ["run", *args])
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ") and expected in lines[0], result.output


def test_non_numeric_concurrency_is_a_usage_error() -> None:
    result = runner.invoke(app, ["run", "-c", "many"])
    assert result.exit_code == 2
    assert "Invalid value for '--concurrency'" in result.output
    assert "Traceback" not in result.output


def test_password_in_a_malformed_dsn_is_never_printed() -> None:
    result = runner.invoke(app, ["run", "--dsn", "postgresql://bob:s3cr3t@host:notaport/db"])
    assert result.exit_code == 2
    assert "s3cr3t" not in result.output
    assert "The DSN has a non-numeric port;" in result.output


def test_help_documents_the_exit_codes() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for line in ("0    every row CLEAN", "1    a leak was found", "2    bad usage", "130"):
        assert line in result.output


def test_scenarios_lists_every_scenario_on_one_line_each() -> None:
    from leakbench import scenarios  # noqa: PLC0415

    result = runner.invoke(app, ["scenarios"])
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == len(scenarios.SCENARIOS)
    for scenario, line in zip(scenarios.SCENARIOS, lines, strict=True):
        assert line.startswith(scenario.name)
        assert scenario.expected in line


def test_report_of_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(tmp_path / "none.json")])
    assert result.exit_code == 3
    assert "Cannot read" in result.output
