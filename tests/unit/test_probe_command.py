"""``leakbench probe -- COMMAND``: the environment it gives the command, and its bad input."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._targets import autoload

runner = CliRunner()


def test_a_command_that_cannot_run_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(autoload.PROBE_DIR_ENV, str(tmp_path / "probes"))
    result = runner.invoke(app, ["probe", "--", str(tmp_path / "no-such-server")])
    assert result.exit_code == 2, result.output
    assert "leakbench probe cannot run" in result.output and "no-such-server" in result.output
    assert (tmp_path / "probes").is_dir()
