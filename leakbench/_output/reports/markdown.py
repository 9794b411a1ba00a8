"""``report.md``: GitHub-flavoured Markdown for a pull request or ``$GITHUB_STEP_SUMMARY``."""

from __future__ import annotations

import re
from collections.abc import Sequence

from leakbench._output.notes import row_notes
from leakbench._output.summary import (
    NUMERIC_COLUMNS,
    VERDICT_MARKS,
    headline,
    period,
    setting_items,
    threshold_outcomes,
    version_items,
)
from leakbench._output.table import report_cells, report_headers
from leakbench._results import RunResult
from leakbench._verdict.outcome import Outcome
from leakbench._verdict.routes import route_summary
from leakbench._verdict.thresholds import ThresholdName

# Characters that would start Markdown or HTML markup, or end a table cell.
_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def escape(text: str) -> str:
    """Text shown as typed, on one line (error messages can hold log tails)."""
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _table(
    header: tuple[str, ...], rows: Sequence[tuple[str, ...]], numeric: frozenset[int]
) -> str:
    align = ["--:" if i in numeric else ":--" for i in range(len(header))]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(align) + "|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]
    return "\n".join(lines)


def render(result: RunResult, outcome: Outcome) -> str:
    """The whole report as Markdown text."""
    verdict = outcome.verdict
    out = [
        f"## leakbench: {VERDICT_MARKS[verdict]} {verdict.value}",
        "",
        f"{escape(headline(result))} {escape(period(result))}",
        "",
    ]
    rows = []
    for row in result.rows:
        cells = [escape(cell) for cell in report_cells(row)]
        cells[-1] = f"{VERDICT_MARKS[row.verdict]} {cells[-1]}"
        rows.append(tuple(cells))
    out += [_table(report_headers(result), rows, NUMERIC_COLUMNS), ""]
    if result.settings.all_routes:
        out += [f"**{escape(route_summary(result.rows))}**", ""]

    notes = [(row, row_notes(row)) for row in result.rows if row_notes(row)]
    if notes:
        out += ["### Why", ""]
        for row, texts in notes:
            # A note's lines after the first (an app's traceback) follow as printed.
            firsts = " ".join(text.partition("\n")[0] for text in texts)
            out.append(
                f"- **{escape(row.target)} {escape(row.endpoint)}** ({row.verdict.value}): "
                f"{escape(firsts)}"
            )
            for text in texts:
                printed = text.partition("\n")[2]
                if printed:
                    out += [
                        "",
                        "  ```text",
                        *(f"  {line}" for line in printed.splitlines()),
                        "  ```",
                    ]
        out.append("")

    thresholds = threshold_outcomes(result, outcome)
    out += ["### Thresholds", ""]
    threshold_rows = []
    for threshold in thresholds:
        mark = "" if not threshold.active else ("✅ " if threshold.passed else "❌ ")
        threshold_rows.append(
            (
                f"`--{threshold.name.value}`",
                escape(threshold.limit),
                f"{mark}{escape(threshold.outcome)}",
            )
        )
    out += [_table(("Threshold", "Limit", "Outcome"), threshold_rows, frozenset()), ""]
    # A leak's reasons are under "Why" already; the other failures say what crossed what.
    failures = [
        f
        for threshold in thresholds
        for f in threshold.failures
        if f.threshold is not ThresholdName.FAIL_ON_LEAK
    ]
    out += [f"- `--{f.threshold.value}`: {escape(f.message)}" for f in failures]
    if failures:
        out.append("")

    if result.warnings:
        out += ["### Warnings", ""]
        out += [f"- {escape(warning)}" for warning in result.warnings]
        out.append("")

    out += [
        "### Versions",
        "",
        " · ".join(f"{name} {escape(value)}" for name, value in version_items(result.versions)),
        "",
        "<details><summary>Settings</summary>",
        "",
        _table(
            ("Setting", "Value"),
            [(escape(name), escape(value)) for name, value in setting_items(result)],
            frozenset(),
        ),
        "",
        "</details>",
        "",
    ]
    return "\n".join(out)
