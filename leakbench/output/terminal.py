"""All terminal rendering lives here: the comparison table and the summary.

Functions take a :class:`rich.console.Console`, so tests render to a
deterministic one (fixed width, no colour) and assert on the text.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from leakbench.output.notes import capacity_lines, vantage_notes
from leakbench.output.sparkline import sparkline
from leakbench.results import RowResult, RunResult, Verdict
from leakbench.verdict.thresholds import ThresholdFailure, ThresholdName

VERDICT_STYLES = {
    Verdict.CLEAN: "bold green",
    Verdict.LEAKED: "bold red",
    Verdict.INCONCLUSIVE: "bold yellow",
    Verdict.FAILED: "bold magenta",
    Verdict.INTERRUPTED: "bold yellow",
}

# The column charting idle-in-transaction connections over the row's samples.
SPARKLINE_HEADER = "Idle in txn\nover time"
COLUMNS = (
    ("Pattern", "left"),
    ("Endpoint", "left"),
    ("Requests", "right"),
    ("Errors", "right"),
    ("Unanswered", "right"),
    ("req/s", "right"),
    ("p95 ms", "right"),
    ("Peak idle in txn\n(during load)", "right"),
    (SPARKLINE_HEADER, "left"),
    ("Idle in txn\n(after settle)", "right"),
    ("Total conns\n(after settle)", "right"),
    ("Result", "left"),
)


# Wide enough for the whole table when output goes to a file or a CI log,
# where rich would otherwise assume 80 columns.
_PIPE_WIDTH = 172


def make_console(*, stderr: bool = False) -> Console:
    """A console for the CLI: the terminal's width, or a wide one when piped."""
    console = Console(stderr=stderr, highlight=False)
    if not console.is_terminal:
        console = Console(stderr=stderr, highlight=False, width=_PIPE_WIDTH)
    return console


# Characters of the idle-in-transaction sparkline; each shows the peak of its slice of samples.
SPARKLINE_WIDTH = 12


def verdict_text(verdict: Verdict) -> Text:
    return Text(verdict.value, style=VERDICT_STYLES[verdict])


def _row_cells(row: RowResult) -> list[str | Text]:
    load, findings = row.load, row.findings
    cells: list[str | Text] = [row.pattern, row.endpoint]
    if load is None:
        cells += ["-", "-", "-", "-", "-"]
    else:
        cells += [
            f"{load.responses:,}",
            f"{load.errors:,}",
            f"{load.disconnects:,}",
            f"{load.rps:,.0f}",
            f"{load.latency.p95:,.1f}",
        ]
    if findings is None:
        cells += ["-", "-", "-", "-"]
    else:
        cells += [
            str(findings.peak_idle_in_transaction),
            sparkline([s.in_transaction for s in row.samples], SPARKLINE_WIDTH),
            str(findings.after_settle.in_transaction),
            str(findings.after_settle.total),
        ]
    cells.append(verdict_text(row.verdict))
    return cells


def results_table(result: RunResult) -> Table:
    table = Table(title="leakbench: connections under load", title_justify="left")
    for header, justify in COLUMNS:
        # A cropped sparkline would hide the end of the row, where a leak shows.
        chart = header == SPARKLINE_HEADER
        table.add_column(
            header,
            justify=justify,  # type: ignore[arg-type]
            min_width=SPARKLINE_WIDTH if chart else None,
            no_wrap=chart,
        )
    for row in result.rows:
        table.add_row(*_row_cells(row))
    return table


def row_notes(row: RowResult) -> list[str]:
    """What a row's verdict rests on, and caveats on its figures (shared by every report)."""
    notes: list[str] = []
    if row.error:
        notes.append(row.error)
    if row.findings is not None:
        notes.extend(row.findings.reasons)
    notes.extend(vantage_notes(row))
    if row.load is not None and row.load.driver_saturated:
        notes.append(
            "leakbench's load driver was running or waiting for a CPU most of the load: "
            "req/s is the driver's limit, not the app's."
        )
    if row.load is not None and row.load.disconnects:
        notes.append(
            f"{row.load.disconnects:,} request(s) went unanswered: the server closed the "
            "connection first (uvicorn does after an unhandled exception); leakbench reconnected. "
            "Requests and req/s count answered requests only."
        )
    return notes


def render_run(console: Console, result: RunResult) -> None:
    """Print the table, what each row's verdict rests on, and the overall verdict."""
    console.print(results_table(result))
    for row in result.rows:
        for note in row_notes(row):
            console.print(f"  {row.pattern} {row.endpoint}: {note}", highlight=False)
    for line in capacity_lines(result):
        console.print(line, highlight=False)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    v = result.versions
    console.print(
        f"Python {v.python} · FastAPI {v.fastapi} · Starlette {v.starlette} · "
        f"SQLAlchemy {v.sqlalchemy} · psycopg {v.psycopg} · PostgreSQL {v.postgresql}",
        highlight=False,
        style="dim",
    )
    s = result.settings
    target = f"pool_size={s.pool_size} max_overflow={s.max_overflow} workers={s.workers}"
    if s.attach_url is not None:
        only = f" (application_name {s.application_name!r})" if s.application_name else ""
        target = f"attached to {s.attach_url}{only}"
    pace = f" rate={s.rate_per_second:g}/s" if s.rate_per_second else ""
    console.print(
        f"{target} concurrency={s.concurrency}{pace} settle≤{s.settle_seconds:g}s · {s.database}",
        highlight=False,
        style="dim",
    )
    overall = Text("Overall: ")
    overall.append_text(verdict_text(result.verdict))
    if result.interrupted:
        overall.append(" (interrupted; finished rows are shown)")
    console.print(overall)


def render_thresholds(console: Console, failures: Sequence[ThresholdFailure]) -> None:
    """One line per threshold a row crossed, naming both (a leak's reasons are above)."""
    for failure in failures:
        text = (
            f"{failure.row} is LEAKED."
            if failure.threshold is ThresholdName.FAIL_ON_LEAK
            else failure.message
        )
        console.print(
            Text.assemble(
                ("threshold failed: ", "bold red"), f"--{failure.threshold.value}: ", text
            )
        )


def render_report_paths(console: Console, directory: Path) -> None:
    console.print(f"Reports: {directory}{os.sep}", highlight=False, style="dim")
