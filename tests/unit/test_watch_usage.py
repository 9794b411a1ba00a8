"""Bad load commands are refused before any database is reached (exit 2, one line)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from leakbench._cli import app

runner = CliRunner()
# Nothing listens on port 1: reaching the database would fail with exit 3, not 2.
UNREACHABLE = "postgresql://u@127.0.0.1:1/app"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["watch", "--dsn", UNREACHABLE, "--", "wrk", "http://192.0.2.10:8000/orders"],
            "The load command targets 'http://192.0.2.10:8000/orders', which is not on this "
            "machine; leakbench loads only 127.0.0.1/::1 unless you pass --allow-remote",
        ),
        (
            ["watch", "--dsn", UNREACHABLE, "--", "no-such-load-tool-xyz", "-d", "1"],
            "The load command's program 'no-such-load-tool-xyz' was not found",
        ),
        (
            ["watch", "--dsn", UNREACHABLE, "--", "wrk", "{url}/orders"],
            "leakbench watch does not start your app, so write its URL itself",
        ),
        (
            ["watch", "--dsn", UNREACHABLE, "--load-timeout", "0", "--", "wrk"],
            "--load-timeout 0 is out of range",
        ),
        (
            ["run", "-p", "both", "--load-command", "wrk {url}", "-e", "POST /ok"],
            "--load-command chooses its own routes, so --endpoint has no effect with it",
        ),
        (
            ["run", "-p", "both", "--load-command", "wrk {url}", "-d", "5"],
            "--duration sets leakbench's own load, which --load-command replaces",
        ),
        (
            ["run", "--load-command", "wrk 'unclosed"],
            '--load-command "wrk \'unclosed" cannot be split into words',
        ),
        (
            ["run", "-p", "both", "--load-command", "wrk http://[::2]:80/ {url}"],
            "The load command targets 'http://[::2]:80/', which is not on this machine",
        ),
    ],
)
def test_bad_load_commands_are_usage_errors(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())


def test_watch_needs_a_command() -> None:
    result = runner.invoke(app, ["watch", "--dsn", UNREACHABLE])
    assert result.exit_code == 2
    assert "Missing argument" in result.output
