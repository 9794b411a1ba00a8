"""The Python API as docs/api.md shows it: the page's example runs as written."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

API_PAGE = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", API_PAGE.read_text(), flags=re.S)
    assert len(blocks) == 1, "docs/api.md shows one example"
    return blocks[0]


def test_the_documented_example_runs_and_finds_the_pull_requests_verdicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(_example(), str(API_PAGE), "exec"), {})  # noqa: S102 - the page's own code
    lines = printed.getvalue().splitlines()
    # The with-session dependency closes its session on both routes with today's FastAPI.
    assert lines == [
        "with-session /ok CLEAN",
        "with-session /error CLEAN",
        "exit code 0",
    ], printed.getvalue()
