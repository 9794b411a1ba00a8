"""Everything ``leakbench matrix`` shows: the terminal table and matrix.json/.md/.html.

Rows are (scenario, endpoint), columns are the combinations of versions, a
cell is the row's verdict there with the leaked connection count, or "n/a"
when the scenario needs versions the column does not have. Each column's
full reports (report.json, .md, .html, junit.xml) are written by
:mod:`leakbench._output.reports` into the column's own folder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from leakbench._output import reports
from leakbench._output.reports.html import CSP
from leakbench._output.reports.json import SCHEMA_VERSION, write_atomic
from leakbench._output.style import FOOTER_STYLE, NOT_JUDGED_STYLE, VERDICT_STYLES
from leakbench._redaction import redact, redact_data
from leakbench._results import MatrixColumn, MatrixResult, RowResult, Verdict
from leakbench._verdict.outcome import MatrixOutcome, run_verdict

NOT_APPLICABLE = "n/a"
NOT_RUN = "-"
FILE_NAMES = ("matrix.json", "matrix.md", "matrix.html")
_LEGEND = (
    "Cells: the row's verdict on that combination, with the connections still leaked after "
    'the settle; "n/a" when the scenario needs versions the combination does not have; '
    '"-" when the row was not run (the command was interrupted).'
)


@dataclass(frozen=True, slots=True)
class Cell:
    """What one (row, column) shows."""

    text: str
    # A Verdict value, "n/a" or "-": the style and the JSON's verdict.
    status: str
    leaked: int | None = None
    note: str | None = None


def cell(column: MatrixColumn, pattern: str, endpoint: str) -> Cell:
    reason = column.why_not_applicable(pattern)
    if reason is not None:
        return Cell(NOT_APPLICABLE, NOT_APPLICABLE, note=reason)
    row = column.row(pattern, endpoint)
    if row is None:
        return Cell(NOT_RUN, NOT_RUN)
    leaked = row.findings.leaked_connections if row.findings is not None else None
    text = row.verdict.value
    if row.verdict is Verdict.LEAKED and leaked is not None:
        text = f"{text} {leaked}"
    return Cell(text, row.verdict.value, leaked, note=_row_note(row))


def _row_note(row: RowResult) -> str | None:
    if row.error:
        return row.error
    if row.verdict is Verdict.LEAKED and row.findings is not None:
        return f"leak kind: {row.findings.leak_kind.value}"
    return None


def column_header(column: MatrixColumn, separator: str = "\n") -> str:
    """``fastapi 0.104.1``; a version not pinned exactly shows what was installed."""
    parts = []
    for package, asked in column.combination:
        installed = column.installed(package)
        if installed is not None and installed != asked:
            parts.append(f"{package} {asked} ({installed})")
        else:
            parts.append(f"{package} {asked}")
    return separator.join(parts)


def environment_line(column: MatrixColumn) -> str:
    how = "reused" if column.environment_reused else "built"
    return f"{column.label}: environment {how} in {column.environment_seconds:.1f} s"


# --- terminal ---------------------------------------------------------------------------


def matrix_table(result: MatrixResult) -> Table:
    table = Table(title="leakbench matrix: verdict (leaked connections) per combination")
    table.add_column("Pattern", no_wrap=True)
    table.add_column("Endpoint", no_wrap=True)
    for column in result.columns:
        table.add_column(column_header(column), no_wrap=True)
    for pattern, endpoint in result.rows:
        cells: list[str | Text] = [pattern, endpoint]
        for column in result.columns:
            shown = cell(column, pattern, endpoint)
            style = _STATUS_STYLES.get(shown.status, "")
            cells.append(Text(shown.text, style=style))
        table.add_row(*cells)
    return table


_STATUS_STYLES = {verdict.value: style for verdict, style in VERDICT_STYLES.items()} | {
    NOT_APPLICABLE: NOT_JUDGED_STYLE,
    NOT_RUN: NOT_JUDGED_STYLE,
}


def render_matrix(console: Console, result: MatrixResult) -> None:
    console.print(matrix_table(result))
    for line in not_applicable_lines(result):
        console.print(line, soft_wrap=True)
    console.print(_LEGEND, style=FOOTER_STYLE, soft_wrap=True)


def not_applicable_lines(result: MatrixResult) -> list[str]:
    """One line per scenario and unmet requirement, naming the columns it left out."""
    columns_by_need: dict[tuple[str, str], list[str]] = {}
    for column in result.columns:
        for pattern, reason in column.not_applicable:
            need = reason.split(", has ")[0].split(", not installed")[0]
            columns_by_need.setdefault((pattern, need), []).append(column.label)
    return [
        f"n/a: {pattern} {need}; not run on {'; '.join(labels)}"
        for (pattern, need), labels in columns_by_need.items()
    ]


def render_matrix_paths(console: Console, directory: Path, result: MatrixResult) -> None:
    console.print(f"Matrix reports: {directory}/matrix.{{json,md,html}}", soft_wrap=True)
    for column in result.columns:
        if column.result is not None:
            console.print(f"  {column.label}: {directory / column.report_folder}/", soft_wrap=True)


# --- files -------------------------------------------------------------------------------


def to_dict(result: MatrixResult) -> dict[str, Any]:
    """matrix.json: the table's data; each column's full report is in its own folder."""
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": "leakbench",
        "kind": "matrix",
        "interrupted": result.interrupted,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "rows": [{"pattern": p, "endpoint": e} for p, e in result.rows],
        "columns": [_column_dict(column, result.rows) for column in result.columns],
    }


def _column_dict(column: MatrixColumn, rows: Sequence[tuple[str, str]]) -> dict[str, Any]:
    cells = []
    for pattern, endpoint in rows:
        shown = cell(column, pattern, endpoint)
        cells.append(
            {
                "pattern": pattern,
                "endpoint": endpoint,
                "verdict": shown.status,
                "leaked_connections": shown.leaked,
                "note": shown.note,
            }
        )
    report = f"{column.report_folder}/report.json" if column.result is not None else None
    return {
        "combination": dict(column.combination),
        "packages": dict(column.packages),
        "environment": {
            "reused": column.environment_reused,
            "seconds": column.environment_seconds,
        },
        "verdict": run_verdict(column.result).value if column.result is not None else None,
        "report": report,
        "not_applicable": dict(column.not_applicable),
        "cells": cells,
    }


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(result: MatrixResult) -> str:
    lines = [
        "# leakbench matrix",
        "",
        "| pattern | endpoint | "
        + " | ".join(_md(column_header(c, ", ")) for c in result.columns)
        + " |",
        "|---|---|" + "---|" * len(result.columns),
    ]
    for pattern, endpoint in result.rows:
        cells = [cell(column, pattern, endpoint).text for column in result.columns]
        lines.append(f"| {_md(pattern)} | {_md(endpoint)} | " + " | ".join(cells) + " |")
    lines += ["", _LEGEND, "", "## Combinations", ""]
    for column in result.columns:
        installed = ", ".join(f"{name} {version}" for name, version in column.packages)
        link = (
            f" Report: [{column.report_folder}/report.md]({column.report_folder}/report.md)."
            if column.result is not None
            else ""
        )
        lines.append(f"- **{_md(column.label)}**: {_md(installed)}.{link}")
        lines.extend(
            f"  - n/a: {_md(pattern)}: {_md(reason)}" for pattern, reason in column.not_applicable
        )
    if result.interrupted:
        lines += ["", "The command was interrupted: later combinations were not run."]
    return "\n".join(lines) + "\n"


_CSS = """
body { margin:0; background:#f8fafc; color:#0f172a;
  font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif; }
main { max-width:1180px; margin:0 auto; padding:28px 24px 48px; }
h1 { font-size:22px; margin:0 0 14px; } h2 { font-size:16px; margin:28px 0 10px; }
table { border-collapse:collapse; background:#fff; border:1px solid #e2e8f0; }
th, td { padding:7px 10px; border-bottom:1px solid #e2e8f0; text-align:left;
  vertical-align:top; }
th { background:#f1f5f9; font-size:12px; color:#334155; }
td.cell { white-space:nowrap; font-weight:700; }
.v-CLEAN { color:#166534; } .v-LEAKED { color:#991b1b; }
.v-INCONCLUSIVE, .v-INTERRUPTED { color:#92400e; } .v-FAILED { color:#6b21a8; }
.v-na, .v-not-run { color:#94a3b8; font-weight:400; }
p.muted, li { color:#475569; }
"""


def _status_class(status: str) -> str:
    return {NOT_APPLICABLE: "v-na", NOT_RUN: "v-not-run"}.get(status, f"v-{status}")


def render_html(result: MatrixResult) -> str:
    """matrix.html: one self-contained page, linking each column's report.html."""
    head = "".join(
        "<th>"
        + "<br>".join(escape(part) for part in column_header(column).split("\n"))
        + (
            f'<br><a href="{escape(column.report_folder)}/report.html">report</a>'
            if column.result is not None
            else ""
        )
        + "</th>"
        for column in result.columns
    )
    body = []
    for pattern, endpoint in result.rows:
        cells = []
        for column in result.columns:
            shown = cell(column, pattern, endpoint)
            title = f' title="{escape(shown.note)}"' if shown.note else ""
            cells.append(
                f'<td class="cell {_status_class(shown.status)}"{title}>{escape(shown.text)}</td>'
            )
        body.append(
            f"<tr><td>{escape(pattern)}</td><td>{escape(endpoint)}</td>{''.join(cells)}</tr>"
        )
    combos = "".join(
        f"<li><b>{escape(column.label)}</b>: "
        + escape(", ".join(f"{name} {version}" for name, version in column.packages))
        + "</li>"
        for column in result.columns
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>leakbench matrix</title><style>{_CSS}</style></head>
<body><main>
<h1>leakbench matrix</h1>
<table><thead><tr><th>Pattern</th><th>Endpoint</th>{head}</tr></thead>
<tbody>{"".join(body)}</tbody></table>
<p class="muted">{escape(_LEGEND)}</p>
<h2>Combinations and what their environments hold</h2>
<ul>{combos}</ul>
</main></body></html>
"""


def dumps(result: MatrixResult) -> str:
    """matrix.json's text."""
    return json.dumps(redact_data(to_dict(result)), indent=2) + "\n"


def write_matrix_reports(result: MatrixResult, outcome: MatrixOutcome, directory: Path) -> None:
    """Each column's reports into its folder, then matrix.json, matrix.md and matrix.html."""
    for column, column_outcome in zip(result.columns, outcome.columns, strict=True):
        if column.result is not None and column_outcome is not None:
            folder = directory / column.report_folder
            folder.mkdir(parents=True, exist_ok=True)
            reports.write_all(column.result, column_outcome, folder)
    texts = (dumps(result), redact(render_markdown(result)), redact(render_html(result)))
    for name, text in zip(FILE_NAMES, texts, strict=True):
        write_atomic(directory / name, text)
