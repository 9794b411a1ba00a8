"""The comparison table, defined once: its columns, their headers and their cells.

The terminal and the report formats (Markdown, HTML) draw their tables from
:data:`COLUMNS`, so they never disagree on a figure. A column may live in
one place only (the sparkline needs a terminal; the reports keep the PR's
shape), and each terminal column says how readily it gives way when the
terminal is too narrow for all of them. Plain strings: no rendering here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from leakbench._output.sparkline import sparkline
from leakbench._results import ExternalLoad, Findings, LoadStats, RowResult, RunResult

# Characters of the idle-in-transaction sparkline; each shows the peak of its slice of samples.
SPARKLINE_WIDTH = 12
NOT_MEASURED = "-"


@dataclass(frozen=True, slots=True)
class Column:
    """One column of the comparison table."""

    key: str
    # The header in the terminal (lines split by "\n"); None: not shown there.
    terminal_header: str | None
    # The header in report.md and report.html; None: not shown there.
    report_header: str | None
    cell: Callable[[RowResult], str]
    numeric: bool = False
    # At a narrow terminal, the column with the highest rank gives way first; 0 never does.
    give_way: int = 0
    # In the terminal, only when this holds for the run's rows (None: always).
    shown_if: Callable[[Sequence[RowResult]], bool] | None = None


def _load(
    row: RowResult,
    figure: Callable[[LoadStats], str],
    tool_figure: Callable[[ExternalLoad], str | None] | None = None,
) -> str:
    """The driver's figure; else the load tool's own (Locust's), when it gives one."""
    if row.load is not None:
        return figure(row.load)
    if row.external is not None and row.external.requests is not None and tool_figure:
        return tool_figure(row.external) or NOT_MEASURED
    return NOT_MEASURED


def _maybe(value: float | None, form: str) -> str | None:
    return form.format(value) if value is not None else None


def _findings(row: RowResult, figure: Callable[[Findings], str]) -> str:
    return figure(row.findings) if row.findings is not None else NOT_MEASURED


def _chart(row: RowResult) -> str:
    if row.findings is None:
        return NOT_MEASURED
    return sparkline([s.in_transaction for s in row.samples], SPARKLINE_WIDTH)


COLUMNS: tuple[Column, ...] = (
    Column("pattern", "Pattern", "Pattern", lambda row: row.target),
    Column("endpoint", "Endpoint", "Endpoint", lambda row: row.endpoint),
    # Answered requests, whatever the status; those never answered have their own column.
    Column(
        "requests",
        "Requests",
        "Requests",
        lambda row: _load(
            row, lambda load: f"{load.responses:,}", lambda tool: f"{tool.requests:,}"
        ),
        numeric=True,
    ),
    Column(
        "errors",
        "Errors",
        None,
        # A load tool's failures (Locust's) count HTTP errors too.
        lambda row: _load(
            row, lambda load: f"{load.errors:,}", lambda tool: f"{tool.failures or 0:,}"
        ),
        numeric=True,
        give_way=2,
    ),
    # Written on a connection the server was closing and never answered. A fresh
    # connection follows every 5xx, so this is almost always 0: the terminal shows
    # it only when a row has some (then it stays longer than req/s); the reports
    # always do.
    Column(
        "unanswered",
        "Unanswered",
        "Unanswered",
        lambda row: _load(row, lambda load: f"{load.disconnects:,}"),
        numeric=True,
        give_way=1,
        shown_if=lambda rows: any(r.load is not None and r.load.disconnects for r in rows),
    ),
    # Requests and streams the client left early as asked (--abort, --stream-read,
    # --hold): neither answers nor errors. Shown, like Unanswered, when a row has some.
    Column(
        "left",
        "Left",
        "Left",
        lambda row: _load(row, lambda load: f"{load.left:,}"),
        numeric=True,
        give_way=1,
        shown_if=lambda rows: any(r.load is not None and r.load.left for r in rows),
    ),
    Column(
        "rps",
        "req/s",
        "req/s",
        lambda row: _load(
            row, lambda load: f"{load.rps:,.0f}", lambda tool: _maybe(tool.rps, "{:,.0f}")
        ),
        numeric=True,
        give_way=4,
    ),
    Column(
        "p95",
        "p95 ms",
        "p95 ms",
        lambda row: _load(
            row,
            lambda load: f"{load.latency.p95:,.1f}",
            lambda tool: _maybe(tool.latency.p95 if tool.latency else None, "{:,.1f}"),
        ),
        numeric=True,
        give_way=3,
    ),
    Column(
        "peak_idle_in_transaction",
        "Peak\nidle\nin txn",
        "peak idle_in_transaction (load)",
        lambda row: _findings(row, lambda f: str(f.peak_idle_in_transaction)),
        numeric=True,
    ),
    Column("chart", "Idle in txn\nover time", None, _chart, give_way=5),
    Column(
        "idle_in_transaction",
        "Idle\nin txn\nafter\nsettle",
        "idle_in_transaction (after settle)",
        lambda row: _findings(row, lambda f: str(f.after_settle.in_transaction)),
        numeric=True,
    ),
    Column(
        "total_connections",
        "Conns\nafter\nsettle",
        "Total Connections (after settle)",
        lambda row: _findings(row, lambda f: str(f.after_settle.total)),
        numeric=True,
    ),
    Column("result", "Result", "Result", lambda row: row.verdict.value),
)

TERMINAL_COLUMNS = tuple(c for c in COLUMNS if c.terminal_header is not None)
REPORT_COLUMNS = tuple(c for c in COLUMNS if c.report_header is not None)


def names_scenarios(result: RunResult) -> bool:
    """Whether every row is one of the shipped scenarios, started by leakbench.

    An app's row is named after its ``--app`` spec, which always holds a ``:``
    (``pkg.main:app``); an attached app after its URL; a watched load after its tool.
    A scenario's name is a plain word (``with-session``).
    """
    settings = result.settings
    if settings.attach_url is not None or settings.watched:
        return False
    return all(":" not in row.target for row in result.rows)


def name_header(result: RunResult) -> str:
    """The first column's header: Pattern for the shipped scenarios, Target for an app."""
    return "Pattern" if names_scenarios(result) else "Target"


def terminal_header(column: Column, result: RunResult) -> str:
    """The column's header at the terminal, the first column's named for the run's rows."""
    if column.key == "pattern":
        return name_header(result)
    return column.terminal_header or column.key


def report_headers(result: RunResult) -> tuple[str, ...]:
    """The reports' headers, in :data:`REPORT_COLUMNS` order, the first named for the rows."""
    return tuple(
        name_header(result) if column.key == "pattern" else column.report_header or ""
        for column in REPORT_COLUMNS
    )


def report_cells(row: RowResult) -> tuple[str, ...]:
    """The row's cells in :data:`REPORT_COLUMNS` order; ``-`` where nothing was measured."""
    return tuple(column.cell(row) for column in REPORT_COLUMNS)
