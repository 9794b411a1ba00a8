"""``report.html``: one self-contained page (inline CSS and SVG, no script, no fetch).

A Content-Security-Policy forbids every external load, so a page that
renders here renders offline, from an artifact, or attached to an email.
"""

from __future__ import annotations

from html import escape

from leakbench._output.notes import leak_kind_label, row_notes
from leakbench._output.reports import chart
from leakbench._output.reports.json import SCHEMA_VERSION
from leakbench._output.summary import (
    NUMERIC_COLUMNS,
    headline,
    period,
    setting_items,
    threshold_outcomes,
    version_items,
)
from leakbench._output.table import report_cells, report_headers
from leakbench._results import RowResult, RunResult, Verdict
from leakbench._verdict.outcome import Outcome
from leakbench._verdict.thresholds import ThresholdName

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_CSS = """
:root { --fg:#0f172a; --muted:#64748b; --line:#e2e8f0; --bg:#f8fafc; --card:#fff; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--fg);
  font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif; }
main { max-width:1080px; margin:0 auto; padding:28px 24px 48px; }
header { display:flex; align-items:center; gap:14px; flex-wrap:wrap; }
h1 { font-size:22px; margin:0; letter-spacing:-.01em; }
h2 { font-size:16px; margin:30px 0 10px; }
h3 { font-size:15px; margin:0; display:flex; align-items:center; gap:10px; }
p.lead { margin:6px 0 0; color:var(--muted); }
.pill { display:inline-block; padding:1px 9px; border-radius:999px; font-size:12px;
  font-weight:700; letter-spacing:.03em; }
.pill.big { font-size:14px; padding:3px 12px; }
.v-CLEAN { background:#dcfce7; color:#166534; }
.v-LEAKED { background:#fee2e2; color:#991b1b; }
.v-INCONCLUSIVE, .v-INTERRUPTED { background:#fef3c7; color:#92400e; }
.v-FAILED { background:#f3e8ff; color:#6b21a8; }
table { border-collapse:collapse; width:100%; background:var(--card);
  border:1px solid var(--line); border-radius:8px; overflow:hidden; }
th, td { padding:7px 10px; border-bottom:1px solid var(--line); text-align:left;
  vertical-align:top; }
th { background:#f1f5f9; font-size:12px; color:#334155; font-weight:600; }
tr:last-child td { border-bottom:0; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
td a { color:inherit; }
td.name, td.nowrap { white-space:nowrap; }
.card { background:var(--card); border:1px solid var(--line); border-radius:10px;
  padding:16px 18px; margin:14px 0; box-shadow:0 1px 2px rgba(15,23,42,.04); }
.facts { display:grid; grid-template-columns:repeat(6,1fr); gap:8px 16px; margin:12px 0 4px;
  padding:10px 12px; background:#f8fafc; border-radius:8px; }
@media (max-width:760px) { .facts { grid-template-columns:repeat(3,1fr); } }
.facts div { font-size:12px; color:var(--muted); }
.facts b { display:block; font-size:15px; color:var(--fg); font-variant-numeric:tabular-nums; }
ul.why { margin:8px 0 0; padding-left:18px; }
.chart { display:block; width:100%; height:auto; margin-top:10px; }
.chart .grid { stroke:#eef2f7; }
.chart .axis { stroke:#94a3b8; }
.chart .tick { font-size:11px; fill:#64748b; }
.chart .axis-label { font-size:11px; fill:#64748b; }
.chart .band-load { fill:#dbeafe; opacity:.55; }
.chart .band-settle { fill:#fef3c7; opacity:.7; }
.chart .phase-label { font-size:11px; font-weight:600; fill:#475569; }
.chart .marker { stroke:#475569; stroke-dasharray:2 3; }
.chart .marker-label { font-size:10.5px; fill:#475569; }
.chart .line { fill:none; stroke-linejoin:round; }
.chart .dot-iit { fill:#dc2626; stroke:#fff; stroke-width:1.5; }
.chart .note-iit { font-size:11px; font-weight:600; fill:#b91c1c; }
.chart .dot-pool { stroke:#fff; stroke-width:1.5; }
.chart .note-pool { font-size:11px; font-weight:600; }
.chart .limit { stroke:#7c3aed; stroke-dasharray:6 4; }
.chart .limit-label { font-size:10.5px; fill:#7c3aed; }
.chart .hover { fill:transparent; }
.chart .hover:hover { fill:rgba(15,23,42,.06); }
.legend { display:flex; flex-wrap:wrap; gap:6px 16px; font-size:12px; color:#334155;
  margin:4px 0 0; }
.key { display:inline-flex; align-items:center; gap:6px; }
.swatch { display:inline-block; width:14px; height:10px; border-radius:2px; }
.band-load-swatch { background:#dbeafe; } .band-settle-swatch { background:#fef3c7; }
.cols { display:grid; grid-template-columns:1fr 1fr; gap:16px; }
@media (max-width:760px) { .cols { grid-template-columns:1fr; } }
.ok { color:#166534; font-weight:600; } .bad { color:#991b1b; font-weight:600; }
.off { color:var(--muted); }
.warn { background:#fffbeb; border:1px solid #fde68a; border-radius:8px; padding:8px 12px; }
footer { margin-top:32px; color:var(--muted); font-size:12px; }
"""


def _pill(verdict: Verdict, big: bool = False) -> str:
    size = " big" if big else ""
    return f'<span class="pill{size} v-{verdict.value}">{verdict.value}</span>'


def _results_table(result: RunResult) -> str:
    head = "".join(
        f'<th class="num">{escape(c)}</th>' if i in NUMERIC_COLUMNS else f"<th>{escape(c)}</th>"
        for i, c in enumerate(report_headers(result))
    )
    body = []
    for index, row in enumerate(result.rows):
        cells = report_cells(row)
        tds = [f'<td class="name"><a href="#row-{index}">{escape(cells[0])}</a></td>']
        tds += [
            f'<td class="num">{escape(c)}</td>' if i in NUMERIC_COLUMNS else f"<td>{escape(c)}</td>"
            for i, c in enumerate(cells[1:-1], start=1)
        ]
        tds.append(f"<td>{_pill(row.verdict)}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _thresholds_table(result: RunResult, outcome: Outcome) -> str:
    rows = []
    for threshold in threshold_outcomes(result, outcome):
        css = "off" if not threshold.active else ("ok" if threshold.passed else "bad")
        # A leak's reasons are in its row's card; other failures say what crossed what.
        detail = "".join(
            f"<li>{escape(f.message)}</li>"
            for f in threshold.failures
            if f.threshold is not ThresholdName.FAIL_ON_LEAK
        )
        rows.append(
            f'<tr><td class="nowrap"><code>--{threshold.name.value}</code></td>'
            f"<td>{escape(threshold.limit)}</td>"
            f'<td><span class="{css}">{escape(threshold.outcome)}</span>'
            + (f'<ul class="why">{detail}</ul>' if detail else "")
            + "</td></tr>"
        )
    return (
        "<table><thead><tr><th>Threshold</th><th>Limit</th><th>Outcome</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _ms(milliseconds: float) -> str:
    return f"{milliseconds:,.0f} ms" if milliseconds < 1000 else f"{milliseconds / 1000:,.1f} s"


def _latencies(milliseconds: tuple[float, ...]) -> str:
    """``87 / 127 / 194 ms``: one unit for the lot, seconds once any reaches one."""
    if max(milliseconds) < 1000:
        return " / ".join(f"{v:,.0f}" for v in milliseconds) + " ms"
    return " / ".join(f"{v / 1000:,.1f}" for v in milliseconds) + " s"


def _facts(row: RowResult) -> str:
    """Two lines of six figures: the load, then the connections."""
    load, findings = row.load, row.findings
    facts: list[tuple[str, str]] = []
    if load is not None:
        latency = load.latency
        latency_points = (latency.p50, latency.p95, latency.p99)
        facts += [
            ("requests answered / unanswered", f"{load.responses:,} / {load.disconnects:,}"),
            ("req/s (answered)", f"{load.rps:,.0f}"),
            ("errors + timeouts", f"{load.errors:,} ({load.error_rate:.1%})"),
            ("5xx responses", f"{load.server_errors:,}"),
            ("latency p50 / p95 / p99", _latencies(latency_points)),
            ("max latency", _ms(latency.max)),
        ]
    if findings is not None:
        settled = f"in {findings.settle_seconds:.1f} s" if findings.settled else "no (time up)"
        facts += [
            ("peak idle in transaction", str(findings.peak_idle_in_transaction)),
            ("in transaction after settle", str(findings.after_settle.in_transaction)),
            ("peak total connections", str(findings.peak_total_connections)),
            ("total after settle", str(findings.after_settle.total)),
            ("settled", settled),
            ("leak kind", leak_kind_label(findings.leak_kind)),
        ]
    items = "".join(f"<div>{escape(name)}<b>{escape(value)}</b></div>" for name, value in facts)
    return f'<div class="facts">{items}</div>'


def _note(note: str) -> str:
    """A note; its lines after the first (an app's traceback) as printed."""
    first, _, rest = note.partition("\n")
    return escape(first) + (f"<pre>{escape(rest)}</pre>" if rest else "")


def _row_card(index: int, row: RowResult, max_total_connections: int | None) -> str:
    notes = "".join(f"<li>{_note(note)}</li>" for note in row_notes(row))
    return (
        f'<section class="card" id="row-{index}">'
        f"<h3>{escape(row.target)} <code>{escape(row.endpoint)}</code> {_pill(row.verdict)}</h3>"
        f"{_facts(row)}"
        f"{chart.render(row, max_total_connections)}"
        f"{chart.legend()}" + (f'<ul class="why">{notes}</ul>' if notes else "") + "</section>"
    )


def _pairs_table(title: str, pairs: tuple[tuple[str, str], ...]) -> str:
    rows = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in pairs)
    return f"<table><thead><tr><th colspan=2>{escape(title)}</th></tr></thead>{rows}</table>"


def render(result: RunResult, outcome: Outcome) -> str:
    """The whole report as one HTML document."""
    verdict = outcome.verdict
    limit = result.settings.max_total_connections
    warnings = "".join(f'<p class="warn">{escape(w)}</p>' for w in result.warnings)
    cards = "".join(_row_card(i, row, limit) for i, row in enumerate(result.rows))
    title = f"leakbench: {verdict.value}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<title>{escape(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<header><h1>leakbench report</h1>{_pill(verdict, big=True)}</header>
<p class="lead">{escape(headline(result))} {escape(period(result))}<br>
Database: {escape(setting_items(result)[0][1])}</p>
{warnings}
<h2>Results</h2>
{_results_table(result)}
<h2>Thresholds</h2>
{_thresholds_table(result, outcome)}
<h2>Connections by state, per row</h2>
{cards}
<h2>Versions and settings</h2>
<div class="cols">
{_pairs_table("Versions", version_items(result.versions))}
{_pairs_table("Settings", setting_items(result))}
</div>
<footer>Generated by leakbench {escape(result.versions.leakbench)} from a result of
report.json schema version {SCHEMA_VERSION}. Hover a chart for each sample's counts.</footer>
</main>
</body>
</html>
"""
