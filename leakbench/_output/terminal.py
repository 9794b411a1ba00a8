"""The run at the terminal: the comparison table, the notes that matter, and the footer.

Functions take a :class:`rich.console.Console`, so tests render to a
deterministic one (fixed width, no colour) and assert on the text. The
table fits the console: when it is too narrow for every column, the
columns that matter least give way (see :mod:`leakbench._output.table`),
and a caption says where to find them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from rich import box
from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from leakbench._output.notes import capacity_lines, needs_notes, row_notes, settings_line
from leakbench._output.style import (
    FOOTER_STYLE,
    NAME_STYLE,
    TABLE_TITLE,
    error_text,
    verdict_text,
    warning_text,
)
from leakbench._output.summary import versions_line
from leakbench._output.table import SPARKLINE_WIDTH, TERMINAL_COLUMNS, Column, terminal_header
from leakbench._results import RowResult, RunResult
from leakbench._verdict.outcome import Outcome
from leakbench._verdict.routes import route_summary
from leakbench._verdict.thresholds import ThresholdName

# A folded target name keeps at least this many characters a line.
_NARROWEST_NAME = 8


# How far apart the columns are: "boxed", as rich draws tables; then only a rule
# under the headers and two spaces ("spaced"), or one ("tight"), between columns,
# which saves about 14 and 20 columns at a narrow terminal.
# The box gives way after the columns ranked above this, before the others.
BOX_GIVES_WAY = 4
Spacing = Literal["boxed", "spaced", "tight"]


def _table(
    result: RunResult,
    columns: tuple[Column, ...],
    *,
    spacing: Spacing = "boxed",
    name_width: int | None = None,
) -> Table:
    table = (
        Table(
            title=TABLE_TITLE,
            title_justify="left",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            collapse_padding=True,
            padding=(0, 1) if spacing == "spaced" else (0, 0),
        )
        if spacing != "boxed"
        else Table(title=TABLE_TITLE, title_justify="left")
    )
    for column in columns:
        chart = column.key == "chart"
        # The last resort of a narrow terminal: the target's name folds onto a second line.
        folds = name_width is not None and column.key == "pattern"
        table.add_column(
            terminal_header(column, result),
            justify="right" if column.numeric else "left",
            # A cropped sparkline would hide the end of the row, where a leak shows;
            # a cropped name or figure would be misread.
            min_width=SPARKLINE_WIDTH if chart else None,
            max_width=name_width if folds else None,
            no_wrap=not folds,
            overflow="fold",
        )
    for row in result.rows:
        cells: list[str | Text] = [column.cell(row) for column in columns]
        if columns[-1].key == "result":
            cells[-1] = verdict_text(row.verdict)
        table.add_row(*cells)
    return table


def results_table(result: RunResult, width: int | None = None) -> Table:
    """The table with as many columns as fit in ``width`` (all of them when None).

    Columns give way in the order their ``give_way`` rank says, highest first;
    the target, the endpoint, the request count, the idle-in-transaction counts
    and the verdict never do. The box goes once the sparkline has gone, before
    any figure; if even the fewest columns do not fit, they move closer, and
    last the target's name folds onto a second line; nothing is cropped.
    """
    shown = tuple(c for c in TERMINAL_COLUMNS if c.shown_if is None or c.shown_if(result.rows))
    if width is None:
        return _table(result, shown)
    # Measured unbounded: rich clamps a measurement to the console's width.
    console = Console(width=10_000)

    def excess(table: Table) -> int:
        return Measurement.get(console, console.options, table).maximum - width

    yielding = sorted((c for c in shown if c.give_way), key=lambda c: -c.give_way)
    # What gives way, one step at a time: the columns by rank, the box once the
    # decorations are gone (before any figure), and last the space between columns.
    steps: list[Column | Spacing] = [c for c in yielding if c.give_way > BOX_GIVES_WAY]
    steps += ["spaced", *(c for c in yielding if c.give_way <= BOX_GIVES_WAY), "tight"]
    spacing: Spacing = "boxed"
    dropped: list[Column] = []
    columns = shown
    table = _table(result, columns)
    for step in steps:
        if excess(table) <= 0:
            break
        if isinstance(step, str):
            spacing = step
        else:
            dropped.append(step)
        columns = tuple(c for c in shown if c not in dropped)
        table = _table(result, columns, spacing=spacing)
    if excess(table) > 0:
        longest = max((len(row.target) for row in result.rows), default=0)
        name_width = max(_NARROWEST_NAME, longest - excess(table))
        table = _table(result, columns, spacing=spacing, name_width=name_width)
    if dropped:
        names = ", ".join((c.terminal_header or c.key).replace("\n", " ") for c in dropped)
        table.caption = f"Not shown at this width: {names} (see the reports)."
        table.caption_justify = "left"
    return table


def notes_block(row: RowResult) -> RenderableType:
    """The row, its verdict, and each note as a bullet whose wrapped lines stay indented."""
    heading = Text.assemble((f"{row.target} {row.endpoint}", NAME_STYLE), " ")
    heading.append_text(verdict_text(row.verdict))
    bullets = Table.grid(padding=(0, 1))
    bullets.add_column(no_wrap=True)
    bullets.add_column(overflow="fold")
    for note in row_notes(row):
        bullets.add_row("  -", note)
    return Group(heading, bullets)


def render_run(console: Console, result: RunResult, outcome: Outcome) -> None:
    """Print the table, the notes of the rows that need them, the footer and the outcome."""
    console.print(results_table(result, console.width))
    for row in result.rows:
        if needs_notes(row):
            console.print(notes_block(row), highlight=False)
    if result.settings.all_routes:
        console.print(route_summary(result.rows), highlight=False)
    for line in capacity_lines(result):
        console.print(line, highlight=False, style=FOOTER_STYLE)
    for warning in result.warnings:
        console.print(warning_text(warning), highlight=False)
    console.print(versions_line(result.versions), highlight=False, style=FOOTER_STYLE)
    console.print(settings_line(result), highlight=False, style=FOOTER_STYLE)
    overall = Text("Overall: ")
    overall.append_text(verdict_text(outcome.verdict))
    if result.interrupted:
        overall.append(" (interrupted; finished rows are shown)")
    console.print(overall)
    render_thresholds(console, outcome)


def render_thresholds(console: Console, outcome: Outcome) -> None:
    """One line per leaked row and per threshold a row crossed (a leak's reasons are above).

    A leak is said as a leak: failing on one is the default, not a limit the user set.
    """
    for failure in outcome.failures:
        if failure.threshold is ThresholdName.FAIL_ON_LEAK:
            line = error_text(
                f"{failure.row} is LEAKED, so the run fails "
                "(--no-fail-on-leak reports leaks without failing).",
                label="leak:",
            )
        else:
            line = error_text(
                f"--{failure.threshold.value}: {failure.message}", label="threshold failed:"
            )
        console.print(line, highlight=False)


def render_report_paths(console: Console, directory: Path) -> None:
    console.print(f"Reports: {directory}{os.sep}", highlight=False, style=FOOTER_STYLE)
