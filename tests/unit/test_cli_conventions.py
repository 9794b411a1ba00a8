"""What users expect of a command line: --version, -h, help in panels, one-line usage errors,
LEAKBENCH_DSN, and shell completion of scenario names. Through typer's runner; nothing starts."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from leakbench import __version__, scenarios
from leakbench._cli import app

runner = CliRunner()


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_flag_prints_the_version(flag: str) -> None:
    result = runner.invoke(app, [flag])
    assert result.exit_code == 0
    assert result.output == f"leakbench {__version__}\n"


@pytest.mark.parametrize("args", [["-h"], ["--help"], ["run", "-h"], ["report", "-h"]])
def test_short_and_long_help(args: list[str]) -> None:
    result = runner.invoke(app, args, prog_name="leakbench")
    assert result.exit_code == 0, result.output
    assert "Usage: leakbench" in result.output


def test_run_help_is_grouped_into_panels() -> None:
    result = runner.invoke(app, ["run", "-h"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    panels = [
        "Targets",
        "Attach mode",
        "Database",
        "Load",
        "Requests",
        "Pool",
        "Verdict",
        "Thresholds",
        "Output",
    ]
    positions = [result.output.index(f"─ {panel}") for panel in panels]
    assert positions == sorted(positions)
    database = result.output[positions[2] : positions[3]]
    assert "--dsn" in database and "env var: LEAKBENCH_DSN" in database
    thresholds = result.output[positions[7] : positions[8]]
    assert all(option in thresholds for option in ("--max-p95-ms", "--max-error-rate"))
    # One metavar style: upper-case names, never typer's type names.
    for metavar in ("SECONDS", "NAME=TEMPLATE", "RATE", "DIR", "PORT"):
        assert metavar in result.output
    for type_name in ("INTEGER", "FLOAT", "TEXT", "<bool>"):
        assert type_name not in result.output.split("─ Targets")[1]
    assert "130  interrupted by Ctrl-C" in result.output


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # Found by click while parsing.
        (["run", "-c", "many"], "error: Invalid value for '--concurrency' / '-c'"),
        (["run", "--no-such-option"], "error: No such option: --no-such-option"),
        (["run", "--pattern"], "error: Option '--pattern' requires an argument."),
        (["runn"], "error: No such command 'runn'."),
        # Found by leakbench while building the run's configuration.
        (["run", "--concurrency", "0"], "error: --concurrency 0 is out of range; give 1 to"),
        (["run", "--timeout", "0"], "error: --timeout 0 is invalid"),
        (["run", "--application-name", "x"], "error: --application-name and --allow-remote"),
    ],
)
def test_a_usage_error_is_one_plain_line_and_exit_2(args: list[str], expected: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(expected)
    assert "╭" not in result.output and "Traceback" not in result.output


def test_dsn_comes_from_leakbench_dsn_and_the_option_wins() -> None:
    from_env = runner.invoke(app, ["run"], env={"LEAKBENCH_DSN": "mysql://u:s3cr3t@h/db"})
    assert from_env.exit_code == 2
    assert "The DSN scheme 'mysql' is not PostgreSQL's" in from_env.output
    assert "s3cr3t" not in from_env.output
    option = runner.invoke(
        app, ["run", "--dsn", "host=x port=abc"], env={"LEAKBENCH_DSN": "mysql://u@h/db"}
    )
    assert option.exit_code == 2
    assert "non-numeric port 'abc'" in option.output


def _complete(words: str) -> list[str]:
    result = runner.invoke(
        app,
        [],
        prog_name="leakbench",
        env={
            "_LEAKBENCH_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        },
    )
    assert result.exit_code == 0, result.output
    return result.output.split()


def test_shell_completion_offers_scenario_names_for_pattern() -> None:
    assert _complete("leakbench run --pattern with") == ["with-session"]
    everything = _complete("leakbench run --pattern ")
    assert everything == ["both", "all", *(s.name for s in scenarios.SCENARIOS)]
    assert "--pattern" in _complete("leakbench run --pat")
