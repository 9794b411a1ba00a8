"""The live view drawn by a real run on the embedded server."""

from __future__ import annotations

import io
import re

from rich.console import Console

from leakbench._progress.live import LiveObserver
from leakbench._results import Verdict
from leakbench._runner.pipeline import run
from leakbench._settings import Endpoint, LoadSettings, RunConfig, VerdictSettings
from tests.fix_server import scenario

_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\r")


def terminal(width: int = 120) -> Console:
    return Console(
        file=io.StringIO(), force_terminal=True, width=width, color_system=None, highlight=False
    )


def text_of(console: Console) -> str:
    return _CONTROL.sub("", console.file.getvalue())  # type: ignore[attr-defined]


def test_a_real_run_is_shown_live(embedded_dsn: str) -> None:
    config = RunConfig(
        targets=(scenario("with-session"),),
        endpoints=(Endpoint.parse("/ok"),),
        load=LoadSettings(concurrency=20, duration=1.5),
        verdict=VerdictSettings(settle=2.0),
        dsn=embedded_dsn,
    )
    console = terminal()
    with LiveObserver(console) as observer:
        result = run(config, observer)
    text = text_of(console)
    assert result.rows[0].verdict is Verdict.CLEAN
    # Frames drawn while the row ran, then the line that stays.
    assert re.search(r"with-session /ok load .* s of 1\.5 s", text)
    assert re.search(r"requests [1-9][\d,]*", text)
    assert "idle in transaction" in text
    assert "with-session /ok settle" in text
    last = [line for line in text.splitlines() if line.strip()][-1]
    assert last.startswith("with-session /ok") and last.rstrip().endswith("CLEAN")
