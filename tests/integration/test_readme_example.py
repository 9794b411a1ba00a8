"""The README's first example, run as written: its app leaks, at the line the README names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakbench._cli import app

ROOT = Path(__file__).resolve().parents[2]


def readme_app() -> str:
    """The README's ```python block that starts with ``# shop/main.py``, without that line."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n# shop/main.py\n(.*?)```", readme, re.DOTALL)
    assert block, "README.md has no shop/main.py example"
    return block[1]


def test_the_readme_app_leaks_where_the_readme_says(
    embedded_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "shop" / "main.py").write_text(readme_app(), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "run", "--app", "shop.main:app", "--endpoint", "POST /orders", "--dsn", embedded_dsn,
            "-c", "20", "-d", "1", "--settle", "2", "--request-timeout", "3", "--no-live",
            "--report-dir", "reports/x",
        ],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    said = "connection(s) checked out at shop/main.py:16 in create_order, never returned."
    assert said in " ".join(result.output.split())
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "10 connection(s) checked out at shop/main.py:16 in create_order" in readme
    assert "`shop/main.py:16 in create_order`" in readme
    # The run left the project's git status clean: its reports folder ignores itself.
    assert (tmp_path / "reports" / ".gitignore").read_text().splitlines()[-1] == "*"
