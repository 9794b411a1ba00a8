"""The report folder: checked before the run, named by a UTC timestamp that never collides."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._output import reports

runner = CliRunner()


def test_an_unwritable_report_dir_is_a_usage_error_before_the_run(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = runner.invoke(
        app, ["run", "-p", "try-finally", "--report-dir", str(blocker / "reports")]
    )
    assert result.exit_code == 2, result.output
    assert f"--report-dir {blocker / 'reports'} cannot be written" in result.output
    assert result.output.strip().count("\n") == 0
    assert "database:" not in result.output  # nothing was started


def test_the_default_report_dir_is_a_utc_timestamp_that_never_collides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    moment = datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    first = reports.prepare_dir(reports.default_dir(moment))
    assert first == Path("reports/20250102T030405Z")
    second = reports.prepare_dir(reports.default_dir(moment))
    assert second == Path("reports/20250102T030405Z-2")
    assert first.is_dir() and second.is_dir()
