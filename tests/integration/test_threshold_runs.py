"""Thresholds through the real CLI on the embedded server: ceilings fail a clean run,
``--no-fail-on-leak`` passes a leaky one."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

from typer.testing import CliRunner

from leakbench._cli import app

runner = CliRunner()


def test_ceilings_fail_a_clean_run_and_name_the_threshold_and_row(
    embedded_dsn: str, tmp_path: Path
) -> None:
    result = runner.invoke(
        app,
        [
            "run", "-p", "try-finally", "-e", "/ok", "-c", "20", "-d", "1", "--settle", "2",
            "--dsn", embedded_dsn, "--report-dir", str(tmp_path),
            "--max-p95-ms", "0.001", "--max-total-connections", "1", "--max-error-rate", "50%",
        ],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "Overall: CLEAN" in result.output
    assert "threshold failed: --max-p95-ms: try-finally /ok had a p95 latency of" in result.output
    assert "threshold failed: --max-total-connections: try-finally /ok reached" in result.output
    assert "--max-error-rate" not in result.output.split("Overall")[1]
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["settings"]["max_p95_ms"] == 0.001
    assert data["settings"]["max_error_rate"] == 0.5
    assert {f["threshold"] for f in data["thresholds"]["failures"]} == {
        "max-p95-ms",
        "max-total-connections",
    }
    suites = ET.fromstring((tmp_path / "junit.xml").read_text(encoding="utf-8"))  # noqa: S314 - our own file
    assert suites.get("failures") == "1"
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert (
        "| `--max-p95-ms` | p95 latency at most 0.001 ms | ❌ failed: try-finally /ok |" in markdown
    )
    assert "| `--max-error-rate` | at most 50.00% transport errors" in markdown


def test_no_fail_on_leak_reports_the_leak_and_exits_0(embedded_dsn: str, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "run", "-p", "global-session-cache", "-e", "/ok", "-c", "20", "-d", "1",
            "--settle", "2", "--pool-timeout", "1", "--request-timeout", "3",
            "--dsn", embedded_dsn, "--report-dir", str(tmp_path), "--no-fail-on-leak",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Overall: LEAKED" in result.output
    assert "threshold failed" not in result.output
    data = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert data["verdict"] == "LEAKED"
    assert data["thresholds"] == {"passed": True, "failures": []}
    suites = ET.fromstring((tmp_path / "junit.xml").read_text(encoding="utf-8"))  # noqa: S314 - our own file
    case = suites.find("./testsuite/testcase")
    assert case is not None
    skipped = case.find("skipped")
    assert skipped is not None
    assert skipped.get("message", "").startswith("LEAKED (not failing: --no-fail-on-leak)")
    # Re-reading the saved run judges it by the thresholds it recorded.
    replay = runner.invoke(app, ["report", str(tmp_path / "report.json")])
    assert replay.exit_code == 0, replay.output
