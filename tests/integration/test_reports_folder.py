"""A reports folder leakbench made keeps the project's git status clean (real git)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from leakbench._output import reports

pytestmark = pytest.mark.quick


def test_the_folder_leakbench_creates_ignores_itself(tmp_path: Path) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    subprocess.run([git, "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "app.py").write_text("app = None\n", encoding="utf-8")
    reports.prepare_dir(tmp_path / "reports" / "20260101T000000Z")
    (tmp_path / "reports" / "20260101T000000Z" / "report.json").write_text("{}")
    ignore = tmp_path / "reports" / ".gitignore"
    assert ignore.read_text(encoding="utf-8").splitlines()[-1] == "*"
    status = subprocess.run(
        [git, "status", "--porcelain", "--untracked-files=all"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert status.split() == ["??", "app.py"]
