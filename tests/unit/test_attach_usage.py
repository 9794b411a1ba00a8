"""Attach mode (``--url``): refusals are usage errors, and a remote URL is warned about
before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakbench._cli import app

runner = CliRunner()


def run_cli(tmp_path: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["run", "--report-dir", str(tmp_path / "reports"), *args])
    return result.exit_code, " ".join(result.output.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--url", "ftp://127.0.0.1:8000", "--dsn", "postgresql://u@127.0.0.1:1/app"],
            "--url 'ftp://127.0.0.1:8000' is not an http(s) URL",
        ),
        (
            ["--url", "127.0.0.1:8000", "--dsn", "postgresql://u@127.0.0.1:1/app"],
            "is not an http(s) URL",
        ),
        (
            ["--url", "http://192.0.2.10:8000", "--dsn", "postgresql://u@127.0.0.1:1/app"],
            "192.0.2.10 is not a loopback address); leakbench loads only 127.0.0.1/::1 unless "
            "you pass --allow-remote",
        ),
        (
            ["--url", "http://127.0.0.1:8000"],
            "--url needs --dsn: leakbench does not start your app or its database in attach mode",
        ),
        (
            ["--url", "http://127.0.0.1:8000", "--dsn", "postgresql://u@h/d", "-p", "both"],
            "it cannot be combined with --pattern or --app",
        ),
        (
            ["--url", "http://127.0.0.1:8000", "--dsn", "postgresql://u@h/d", "--setup-sql", "x"],
            "--setup-sql has no effect with --url",
        ),
        (["--application-name", "shop"], "belong to attach mode; give --url too"),
    ],
)
def test_attach_mode_refusals_are_usage_errors(
    tmp_path: Path, args: list[str], message: str
) -> None:
    endpoint = [] if "--application-name" in args else ["-e", "POST /orders"]
    code, output = run_cli(tmp_path, *args, *endpoint, "--no-live")
    assert code == 2, output
    assert message in output
    assert "Traceback" not in output


def test_url_needs_an_endpoint(tmp_path: Path) -> None:
    code, output = run_cli(
        tmp_path, "--url", "http://127.0.0.1:8000", "--dsn", "postgresql://u@h/d"
    )
    assert code == 2 and "--url needs --endpoint 'METHOD /path'" in output


def test_allow_remote_warns_before_anything_is_sent(tmp_path: Path) -> None:
    # The database is unreachable, so the run stops before any request: only the warning shows.
    code, output = run_cli(
        tmp_path, "--url", "http://192.0.2.10:8000", "--allow-remote",
        "--dsn", "postgresql://u@127.0.0.1:1/app", "-e", "POST /orders", "--no-live",
    )  # fmt: skip
    assert code == 3, output
    assert "warning: Loading http://192.0.2.10:8000, which is not on this machine" in output
    assert "Cannot connect to PostgreSQL at u@127.0.0.1:1/app" in output
