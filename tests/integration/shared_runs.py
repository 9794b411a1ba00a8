"""Real runs that several tests read, each made once per session (see conftest.py).

A run is shared where its rows are not what a test is about: the report
formats and the CLI's leak-and-twin check read the same short run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from leakbench.cli import app

# A clean twin and a real leak, one endpoint each, loaded briefly; the short
# pool and request timeouts keep the exhausted leaking app from stalling the row.
LEAK_AND_TWIN_ARGS = (
    "-p", "try-finally", "-p", "global-session-cache", "-e", "/ok",
    "-c", "30", "-d", "1", "--settle", "2", "--pool-timeout", "1", "--request-timeout", "3",
)  # fmt: skip


@dataclass(frozen=True)
class ReportRun:
    """A finished ``leakbench run`` with its exit code, output and report folder."""

    exit_code: int
    output: str
    directory: Path

    def text(self, name: str) -> str:
        return (self.directory / name).read_text(encoding="utf-8")

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.text("report.json"))
        return data


def leak_and_twin_run(dsn: str, directory: Path) -> ReportRun:
    """try-finally and global-session-cache on /ok through the CLI, reports in ``directory``."""
    result = CliRunner().invoke(
        app, ["run", *LEAK_AND_TWIN_ARGS, "--dsn", dsn, "--report-dir", str(directory)]
    )
    return ReportRun(result.exit_code, result.output, directory)
