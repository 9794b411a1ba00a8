"""What `leakbench matrix` shows, rendered from hand-made results: table, JSON, Markdown, HTML."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from leakbench._output.matrix import (
    render_html,
    render_markdown,
    render_matrix,
    to_dict,
    write_matrix_reports,
)
from leakbench._output.style import make_console
from leakbench._results import (
    ActivitySample,
    Findings,
    MatrixColumn,
    MatrixResult,
    Phase,
    RowResult,
    Verdict,
)
from leakbench._verdict.outcome import MatrixOutcome, judge_matrix
from tests.factories import run_result

ROWS = (("background-request-session", "/ok"), ("background-function-scope", "/ok"))


def _row(pattern: str, verdict: Verdict, leaked: int = 0) -> RowResult:
    final = ActivitySample(t=2.0, phase=Phase.FINAL, idle_in_transaction=leaked)
    findings = Findings(
        verdict=verdict,
        reasons=(),
        baseline=ActivitySample(t=0.0, phase=Phase.BASELINE),
        after_settle=final,
        peak_idle_in_transaction=leaked,
        peak_active=0,
        peak_total_connections=leaked,
        peak_oldest_transaction_seconds=None,
        settled=verdict is Verdict.CLEAN,
        settle_seconds=1.0,
        leaked_connections=leaked,
    )
    return RowResult(pattern, "/ok", verdict, None, findings)


def _matrix() -> MatrixResult:
    old = MatrixColumn(
        combination=(("fastapi", "0.117.1"),),
        packages=(("fastapi", "0.117.1"), ("sqlalchemy", "2.1.9")),
        environment_reused=False,
        environment_seconds=4.2,
        result=run_result(_row("background-request-session", Verdict.LEAKED, 12)),
        not_applicable=(("background-function-scope", "needs fastapi>=0.121, has 0.117.1"),),
        report_folder="fastapi-0.117.1",
    )
    new = MatrixColumn(
        combination=(("fastapi", "latest"),),
        packages=(("fastapi", "0.165.0"), ("sqlalchemy", "2.1.9")),
        environment_reused=True,
        environment_seconds=0.4,
        result=run_result(
            _row("background-request-session", Verdict.CLEAN),
            _row("background-function-scope", Verdict.LEAKED, 12),
        ),
        report_folder="fastapi-latest",
    )
    return MatrixResult(rows=ROWS, columns=(old, new))


def test_the_table_has_a_column_per_combination_and_n_a_where_a_scenario_cannot_run() -> None:
    out = io.StringIO()
    console = make_console(file=out, width=140)
    render_matrix(console, _matrix())
    text = out.getvalue()
    lines = [line for line in text.splitlines() if "background-" in line]
    assert "fastapi 0.117.1" in text
    assert "fastapi latest (0.165.0)" in text  # the version "latest" resolved to
    request_line = next(line for line in lines if line.startswith("│ background-request"))
    assert request_line.index("LEAKED 12") < request_line.index("CLEAN")
    scope_line = next(line for line in lines if line.startswith("│ background-function"))
    assert scope_line.index("n/a") < scope_line.index("LEAKED 12")
    assert "n/a: background-function-scope needs fastapi>=0.121; not run on fastapi 0.117.1" in text


def test_matrix_json_holds_each_cell_the_combination_and_the_column_report() -> None:
    data = to_dict(_matrix())
    assert data["kind"] == "matrix"
    assert data["rows"][0] == {"pattern": "background-request-session", "endpoint": "/ok"}
    old, new = data["columns"]
    assert old["combination"] == {"fastapi": "0.117.1"}
    assert new["packages"]["fastapi"] == "0.165.0"
    assert old["environment"] == {"reused": False, "seconds": 4.2}
    assert old["report"] == "fastapi-0.117.1/report.json"
    assert [c["verdict"] for c in old["cells"]] == ["LEAKED", "n/a"]
    assert old["cells"][0]["leaked_connections"] == 12
    assert old["cells"][1]["note"] == "needs fastapi>=0.121, has 0.117.1"
    assert [c["verdict"] for c in new["cells"]] == ["CLEAN", "LEAKED"]


def test_markdown_and_html_show_the_matrix() -> None:
    markdown = render_markdown(_matrix())
    assert "| background-request-session | /ok | LEAKED 12 | CLEAN |" in markdown
    assert "| background-function-scope | /ok | n/a | LEAKED 12 |" in markdown
    html = render_html(_matrix())
    assert re.search(r'<td class="cell v-LEAKED"[^>]*>LEAKED 12</td>', html)
    assert 'title="needs fastapi&gt;=0.121, has 0.117.1">n/a</td>' in html
    assert 'href="fastapi-0.117.1/report.html"' in html
    assert "Content-Security-Policy" in html


def test_the_reports_go_into_one_folder_with_a_folder_per_combination(tmp_path: Path) -> None:
    write_matrix_reports(_matrix(), judge_matrix(_matrix()), tmp_path)
    for name in ("matrix.json", "matrix.md", "matrix.html"):
        assert (tmp_path / name).is_file()
    for folder in ("fastapi-0.117.1", "fastapi-latest"):
        for name in ("report.json", "report.md", "report.html", "junit.xml"):
            assert (tmp_path / folder / name).is_file()
    saved = json.loads((tmp_path / "matrix.json").read_text())
    assert saved["columns"][1]["verdict"] == "LEAKED"


def test_the_exit_code_is_as_for_run_over_every_column() -> None:
    outcome = judge_matrix(_matrix())
    assert outcome.exit_code == 1
    # Each column judged as run judges a run: the LEAKED row failed fail-on-leak in both.
    assert [len(column.failures) for column in outcome.columns if column is not None] == [1, 1]
    clean = MatrixColumn(
        combination=(("fastapi", "0.118.0"),),
        packages=(),
        environment_reused=True,
        environment_seconds=0.1,
        result=run_result(_row("background-request-session", Verdict.CLEAN)),
    )
    assert judge_matrix(MatrixResult(rows=ROWS[:1], columns=(clean,))).exit_code == 0
    failed = MatrixColumn(
        combination=(("fastapi", "0.94.1"),),
        packages=(),
        environment_reused=True,
        environment_seconds=0.1,
        result=run_result(
            RowResult("background-request-session", "/ok", Verdict.FAILED, None, None)
        ),
    )
    assert judge_matrix(MatrixResult(rows=ROWS[:1], columns=(clean, failed))).exit_code == 3
    nothing = MatrixColumn(
        combination=(("fastapi", "0.94.1"),),
        packages=(),
        environment_reused=True,
        environment_seconds=0.1,
        result=None,
        not_applicable=(("background-request-session", "needs fastapi>=0.95, has 0.94.1"),),
    )
    only_n_a = MatrixResult(rows=ROWS[:1], columns=(nothing,))
    assert judge_matrix(only_n_a) == MatrixOutcome((None,), 4)
