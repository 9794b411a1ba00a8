"""An inline SVG chart of one row's connections by state over time, beside the pool's count.

Drawn here in Python so the HTML report needs no script: step lines (each
sample holds until the next), the load and settle phases as shaded bands, the
after-settle snapshot and the forced collection as markers, and a hover title
per sample. Long rows are thinned to one column per pixel, keeping each
column's peaks, so a spike never disappears from the picture.

The app's own view is drawn beside the server's: the pools' checked-out count
at the baseline, during the load, after the settle and after the collection.
A connection kept checked out but idle leaves every server line flat and
healthy; only this line stays up. It is dashed across the settle, where the
pool is not read (a read could set off the collection that hides a leak).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from leakbench._results import ActivitySample, Phase, RowResult

WIDTH = 880
HEIGHT = 270
_LEFT, _RIGHT, _TOP, _BOTTOM = 46, 18, 30, 38
_PLOT_W = WIDTH - _LEFT - _RIGHT
_PLOT_H = HEIGHT - _TOP - _BOTTOM
MAX_POINTS = _PLOT_W


@dataclass(frozen=True, slots=True)
class Series:
    """One line of the chart: a state of pg_stat_activity and how to draw it."""

    key: str
    label: str
    color: str
    value: Callable[[ActivitySample], int]
    width: float = 1.8
    dash: str = ""


# Drawn in this order, so idle in transaction, what a leak shows as, lies on top.
SERIES: tuple[Series, ...] = (
    Series("total", "total", "#94a3b8", lambda s: s.total, 1.2, "4 3"),
    Series("idle", "idle", "#64748b", lambda s: s.idle),
    Series("active", "active", "#2563eb", lambda s: s.active),
    Series(
        "aborted",
        "idle in transaction (aborted)",
        "#d97706",
        lambda s: s.idle_in_transaction_aborted,
        2.0,
        "6 2",
    ),
    Series(
        "idle-in-transaction",
        "idle in transaction",
        "#dc2626",
        lambda s: s.idle_in_transaction,
        2.6,
    ),
)


POOL_COLOR = "#0d9488"  # teal: apart from the states and the purple limit line
POOL_LABEL = "checked out of the pool (the app's view)"


def pool_points(row: RowResult) -> list[tuple[float, int]]:
    """The pools' checked-out count over the row: baseline, load, after settle, after GC."""
    findings = row.findings
    points: list[tuple[float, int]] = []
    if findings is not None and row.pool_baseline is not None:
        points.append((findings.baseline.t, row.pool_baseline.checked_out))
    points += [(reading.t, reading.checked_out) for reading in row.pool_readings]
    if findings is not None and row.pool_after_settle is not None:
        points.append((findings.after_settle.t, row.pool_after_settle.checked_out))
        if findings.after_gc is not None and row.pool_after_gc is not None:
            points.append((findings.after_gc.t, row.pool_after_gc.checked_out))
    return sorted(points)


def _thin_points(points: Sequence[tuple[float, int]], most: int) -> list[tuple[float, int]]:
    """At most ``most`` points, each the highest count of its time slice."""
    if len(points) <= most:
        return list(points)
    start, span = points[0][0], (points[-1][0] - points[0][0]) or 1.0
    buckets: dict[int, tuple[float, int]] = {}
    for t, value in points:
        index = min(most - 1, int((t - start) / span * most))
        first_t, peak = buckets.get(index, (t, value))
        buckets[index] = (first_t, max(peak, value))
    return list(buckets.values())


def thin(samples: Sequence[ActivitySample], max_points: int) -> list[ActivitySample]:
    """At most ``max_points`` samples, each the per-state maximum of its time slice."""
    if len(samples) <= max_points:
        return list(samples)
    start, end = samples[0].t, samples[-1].t
    span = (end - start) or 1.0
    buckets: dict[int, list[ActivitySample]] = {}
    for sample in samples:
        index = min(max_points - 1, int((sample.t - start) / span * max_points))
        buckets.setdefault(index, []).append(sample)
    thinned = []
    for group in buckets.values():
        first = group[0]
        thinned.append(
            ActivitySample(
                t=first.t,
                phase=first.phase,
                active=max(s.active for s in group),
                idle=max(s.idle for s in group),
                idle_in_transaction=max(s.idle_in_transaction for s in group),
                idle_in_transaction_aborted=max(s.idle_in_transaction_aborted for s in group),
                other=max(s.other for s in group),
            )
        )
    return thinned


def nice_step(span: float, most_ticks: int) -> float:
    """A 1, 2 or 5 times a power of ten giving at most ``most_ticks`` intervals."""
    raw = max(span, 1e-9) / most_ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return float(factor * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


@dataclass(frozen=True, slots=True)
class _Scale:
    t_max: float
    y_max: int

    def x(self, t: float) -> float:
        return round(_LEFT + t / self.t_max * _PLOT_W, 1)

    def y(self, value: float) -> float:
        return round(_TOP + _PLOT_H - value / self.y_max * _PLOT_H, 1)


def _first_t(samples: Sequence[ActivitySample], phase: Phase) -> float | None:
    return next((s.t for s in samples if s.phase is phase), None)


def _step_path(points: Sequence[ActivitySample], series: Series, scale: _Scale) -> str:
    first = points[0]
    parts = [f"M{scale.x(first.t)},{scale.y(series.value(first))}"]
    for sample in points[1:]:
        parts.append(f"H{scale.x(sample.t)}V{scale.y(series.value(sample))}")
    return "".join(parts)


def _axes(scale: _Scale) -> list[str]:
    out = []
    y_step = max(1, int(nice_step(scale.y_max, 5)))
    for value in range(0, scale.y_max + 1, y_step):
        y = scale.y(value)
        out.append(
            f'<line class="grid" x1="{_LEFT}" y1="{y}" x2="{WIDTH - _RIGHT}" y2="{y}"/>'
            f'<text class="tick" x="{_LEFT - 6}" y="{y + 4}" text-anchor="end">{value}</text>'
        )
    t_step = nice_step(scale.t_max, 8)
    bottom = _TOP + _PLOT_H
    tick = 0.0
    while tick <= scale.t_max + 1e-9:
        x = scale.x(tick)
        out.append(
            f'<line class="axis" x1="{x}" y1="{bottom}" x2="{x}" y2="{bottom + 4}"/>'
            f'<text class="tick" x="{x}" y="{bottom + 16}" text-anchor="middle">'
            f"{tick:g}</text>"
        )
        tick = round(tick + t_step, 9)
    out.append(
        f'<line class="axis" x1="{_LEFT}" y1="{_TOP + _PLOT_H}" '
        f'x2="{WIDTH - _RIGHT}" y2="{_TOP + _PLOT_H}"/>'
        f'<text class="axis-label" x="{_LEFT + _PLOT_W / 2}" y="{HEIGHT - 4}" '
        'text-anchor="middle">seconds since the baseline</text>'
        f'<text class="axis-label" x="12" y="{_TOP + _PLOT_H / 2}" text-anchor="middle" '
        f'transform="rotate(-90 12 {_TOP + _PLOT_H / 2})">connections</text>'
    )
    return out


def _band(scale: _Scale, start: float, end: float, css: str, label: str) -> str:
    x1, x2 = scale.x(start), scale.x(end)
    return (
        f'<rect class="{css}" x="{x1}" y="{_TOP}" width="{max(0.5, x2 - x1):.1f}" '
        f'height="{_PLOT_H}"/>'
        f'<text class="phase-label" x="{x1 + 5}" y="{_TOP - 8}">{label}</text>'
    )


def _marker(scale: _Scale, t: float, label: str, anchor: str = "end") -> str:
    x = scale.x(t)
    dx = -4 if anchor == "end" else 4
    return (
        f'<line class="marker" x1="{x}" y1="{_TOP}" x2="{x}" y2="{_TOP + _PLOT_H}"/>'
        f'<text class="marker-label" x="{x + dx}" y="{_TOP + 12}" '
        f'text-anchor="{anchor}">{label}</text>'
    )


def _phases(samples: Sequence[ActivitySample], scale: _Scale) -> list[str]:
    load_start = _first_t(samples, Phase.LOAD)
    settle_start = _first_t(samples, Phase.SETTLE)
    final = _first_t(samples, Phase.FINAL)
    after_gc = _first_t(samples, Phase.AFTER_GC)
    out = []
    if load_start is not None:
        load_end = settle_start if settle_start is not None else (final or samples[-1].t)
        out.append(_band(scale, samples[0].t, load_end, "band-load", "load"))
    if settle_start is not None:
        settle_end = final if final is not None else samples[-1].t
        out.append(_band(scale, settle_start, settle_end, "band-settle", "settle"))
    if final is not None:
        out.append(_marker(scale, final, "after settle"))
    if after_gc is not None:
        out.append(_marker(scale, after_gc, "gc", "start"))
    return out


def _hover_columns(points: Sequence[ActivitySample], scale: _Scale) -> list[str]:
    out = []
    for index, sample in enumerate(points):
        x1 = scale.x(sample.t)
        x2 = scale.x(points[index + 1].t) if index + 1 < len(points) else WIDTH - _RIGHT
        title = (
            f"{sample.t:.2f} s ({sample.phase.value}): {sample.active} active, "
            f"{sample.idle} idle, {sample.idle_in_transaction} idle in transaction, "
            f"{sample.idle_in_transaction_aborted} aborted, {sample.total} total"
        )
        out.append(
            f'<rect class="hover" x="{x1}" y="{_TOP}" width="{max(1.0, x2 - x1):.1f}" '
            f'height="{_PLOT_H}"><title>{escape(title)}</title></rect>'
        )
    return out


def _annotations(row: RowResult, points: Sequence[ActivitySample], scale: _Scale) -> list[str]:
    """The peak of idle in transaction and what was left of it after the settle."""
    out = []
    peak = max(points, key=lambda s: s.idle_in_transaction)
    if peak.idle_in_transaction:
        x, y = scale.x(peak.t), scale.y(peak.idle_in_transaction)
        out.append(
            f'<circle class="dot-iit" cx="{x}" cy="{y}" r="3.5"/>'
            f'<text class="note-iit" x="{x + 6}" y="{y - 6}">peak {peak.idle_in_transaction}</text>'
        )
    findings = row.findings
    if findings is not None and findings.after_settle.in_transaction:
        final = findings.after_settle
        x, y = scale.x(final.t), scale.y(final.in_transaction)
        out.append(
            f'<circle class="dot-iit" cx="{x}" cy="{y}" r="4.5"/>'
            f'<text class="note-iit" x="{x - 8}" y="{y + 16}" text-anchor="end">'
            f"{final.in_transaction} still in transaction</text>"
        )
    return out


def _pool_line(row: RowResult, scale: _Scale) -> list[str]:
    """The pools' checked-out count as a step line, dashed over the unread settle."""
    points = pool_points(row)
    if not points:
        return []
    findings = row.findings
    final_t = findings.after_settle.t if findings is not None else None
    # The load's readings and the baseline; then what the settle left, read only at its end.
    read = [p for p in points if final_t is None or p[0] < final_t]
    after = [p for p in points if final_t is not None and p[0] >= final_t]
    read = _thin_points(read, MAX_POINTS)
    out = []
    # Wider than the in-transaction line drawn over it, so a coinciding one still shows.
    attrs = f'stroke="{POOL_COLOR}" stroke-width="3.6" stroke-opacity="0.85" fill="none"'
    if read:
        first_t, first_v = read[0]
        d = [f"M{scale.x(first_t)},{scale.y(first_v)}"]
        d += [f"H{scale.x(t)}V{scale.y(v)}" for t, v in read[1:]]
        out.append(f'<path class="line line-pool" d="{"".join(d)}" {attrs}/>')
    if after:
        previous = read[-1] if read else after[0]
        d = [f"M{scale.x(previous[0])},{scale.y(previous[1])}"]
        d += [f"H{scale.x(t)}V{scale.y(v)}" for t, v in after]
        out.append(
            f'<path class="line line-pool-settle" d="{"".join(d)}" {attrs} stroke-dasharray="5 4"/>'
        )
        last_t, last_v = after[0]
        baseline = row.pool_baseline.checked_out if row.pool_baseline is not None else 0
        x, y = scale.x(last_t), scale.y(last_v)
        out.append(f'<circle class="dot-pool" cx="{x}" cy="{y}" r="4" fill="{POOL_COLOR}"/>')
        if last_v > baseline:
            out.append(
                f'<text class="note-pool" x="{x - 8}" y="{y - 8}" text-anchor="end" '
                f'fill="{POOL_COLOR}">{last_v} still checked out</text>'
            )
    return out


def _limit_line(scale: _Scale, limit: int) -> str:
    y = scale.y(limit)
    return (
        f'<line class="limit" x1="{_LEFT}" y1="{y}" x2="{WIDTH - _RIGHT}" y2="{y}"/>'
        f'<text class="limit-label" x="{WIDTH - _RIGHT - 4}" y="{y - 4}" text-anchor="end">'
        f"--max-total-connections {limit}</text>"
    )


def render(row: RowResult, max_total_connections: int | None = None) -> str:
    """The row's chart as an ``<svg>`` element, or a short note when nothing was sampled."""
    if not row.samples:
        return '<p class="no-chart">No pg_stat_activity sample was taken for this row.</p>'
    samples = sorted(row.samples, key=lambda s: s.t)
    points = thin(samples, MAX_POINTS)
    top = max(max(series.value(s) for series in SERIES) for s in samples)
    top = max([top, *(value for _, value in pool_points(row))])
    if max_total_connections is not None:
        top = max(top, max_total_connections)
    # Headroom above the highest line, rounded up to a whole tick.
    room = max(4, top + 1)
    step = max(1, int(nice_step(room, 5)))
    scale = _Scale(t_max=max(samples[-1].t, 0.1), y_max=math.ceil(room / step) * step)
    label = escape(f"{row.target} {row.endpoint}: connections by state over time")
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg">',
        *_phases(samples, scale),
        *_axes(scale),
    ]
    if max_total_connections is not None:
        parts.append(_limit_line(scale, max_total_connections))
    for series in SERIES:
        if series.key == "aborted":
            # Above the idle line it would hide (a kept, idle connection), under the
            # in-transaction lines it borders when they coincide.
            parts += _pool_line(row, scale)
        dash = f' stroke-dasharray="{series.dash}"' if series.dash else ""
        parts.append(
            f'<path class="line line-{series.key}" d="{_step_path(points, series, scale)}" '
            f'stroke="{series.color}" stroke-width="{series.width}"{dash}/>'
        )
    parts += _annotations(row, points, scale)
    parts += _hover_columns(points, scale)
    parts.append("</svg>")
    return "".join(parts)


def legend() -> str:
    """The series' colours, as HTML to put under the charts."""
    items = [
        f'<span class="key"><svg width="22" height="8" aria-hidden="true">'
        f'<line x1="0" y1="4" x2="22" y2="4" stroke="{s.color}" stroke-width="{s.width + 0.6}"'
        + (f' stroke-dasharray="{s.dash}"' if s.dash else "")
        + f"/></svg>{escape(s.label)}</span>"
        for s in SERIES
    ]
    items.append(
        f'<span class="key"><svg width="22" height="8" aria-hidden="true">'
        f'<line x1="0" y1="4" x2="22" y2="4" stroke="{POOL_COLOR}" stroke-width="2.8"/>'
        f"</svg>{escape(POOL_LABEL)}</span>"
    )
    items += [
        '<span class="key"><span class="swatch band-load-swatch"></span>load phase</span>',
        '<span class="key"><span class="swatch band-settle-swatch"></span>settle phase</span>',
    ]
    return '<div class="legend">' + "".join(items) + "</div>"
