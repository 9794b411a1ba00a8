"""Golden text of every renderer, from one hand-made run (as rich's own tests compare output).

The terminal renders on a fixed-width console with no colour; Markdown and
JUnit are pure functions of the result and its outcome. A change in what a
user sees shows up here as a diff. After a deliberate change, regenerate with
``LEAKBENCH_UPDATE_GOLDEN=1 pytest tests/unit/test_renderers_golden.py``
(the run then fails once, so that an update is never silent) and review the diff.
"""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path

import pytest

from leakbench._output.notes import row_notes
from leakbench._output.reports import junit, markdown
from leakbench._output.style import make_console
from leakbench._output.terminal import render_run
from leakbench._results import Capacity, RunResult, Verdict
from leakbench._verdict.outcome import judge
from tests.factories import failed_row, row, run_result

GOLDEN = Path(__file__).parent / "golden"
UPDATE = bool(os.environ.get("LEAKBENCH_UPDATE_GOLDEN"))


def _run() -> RunResult:
    result = run_result(
        row("with-session", "/ok", completed=5_655, peak=9, p95=312.5),
        row("with-session", "/error", completed=4_805, peak=4, errors=3),
        row(
            "global-session-cache",
            "/ok",
            Verdict.LEAKED,
            completed=3_121,
            peak=12,
            after=12,
            total=13,
            reasons=("12 connection(s) are still idle in transaction after the settle.",),
            capacity=Capacity(workers=1, per_worker=12, max_connections=100),
        ),
        row(
            "shop/main.py:app",
            "GET /orders",
            Verdict.INCONCLUSIVE,
            completed=812,
            peak=0,
            p95=120.0,
            reasons=("Every request got a 4xx answer; the route's database code never ran.",),
            pool_capacity=15,
        ),
        failed_row("broken", "/ok"),
        max_p95_ms=500.0,
    )
    return dataclasses.replace(
        result,
        started_at="2026-12-01T08:00:00+00:00",
        finished_at="2026-12-01T08:01:04+00:00",
        warnings=("The server sets idle_in_transaction_session_timeout=10s.",),
    )


def _terminal(width: int) -> str:
    result = _run()
    buffer = io.StringIO()
    render_run(make_console(width=width, file=buffer), result, judge(result))
    # rich pads lines to the console's width; the padding is not what a reader sees.
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"


def _notes() -> str:
    return "".join(
        f"{r.target} {r.endpoint}\n" + "".join(f"  - {note}\n" for note in row_notes(r))
        for r in _run().rows
    )


RENDERERS = {
    "terminal-80.txt": lambda: _terminal(80),
    "terminal-120.txt": lambda: _terminal(120),
    "notes.txt": _notes,
    "report.md": lambda: markdown.render(_run(), judge(_run())),
    "junit.xml": lambda: junit.render(_run(), judge(_run())),
}


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_renderer_matches_its_golden_text(name: str) -> None:
    text = RENDERERS[name]()
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
        pytest.fail(f"{path} was rewritten; review its diff, then run again without the update.")
    assert text == path.read_text(encoding="utf-8")


def test_every_renderer_shares_one_outcome() -> None:
    """The p95 threshold failed on two rows: the terminal, Markdown and JUnit all say so."""
    outcome = judge(_run())
    assert outcome.exit_code == 1
    failed = [(failure.threshold.value, failure.row) for failure in outcome.failures]
    assert failed == [
        ("max-p95-ms", "with-session /error"),
        ("fail-on-leak", "global-session-cache /ok"),
        ("max-p95-ms", "global-session-cache /ok"),
    ]
    terminal, md, xml = _terminal(120), RENDERERS["report.md"](), RENDERERS["junit.xml"]()
    assert "threshold failed: --max-p95-ms: with-session /error had a p95" in terminal
    # A leak reads as a leak, not as a threshold.
    assert "leak: global-session-cache /ok is LEAKED, so the run fails" in terminal
    assert "threshold failed: --fail-on-leak" not in terminal
    assert "threshold failed: --max-p95-ms: global-session-cache /ok had a p95" in terminal
    thresholds = md.split("### Thresholds")[1]
    assert "failed: with-session /error, global-session-cache /ok" in thresholds
    assert 'failures="2"' in xml  # two rows fail; the leaked one on two thresholds
