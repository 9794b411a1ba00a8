"""The two vantage points, in words: what PostgreSQL sees and what the pool says.

Plain strings for every report format (terminal, Markdown...); no rendering
library here. The server side comes from pg_stat_activity and
pg_stat_database, the app side from the in-target probe's pool counters.
"""

from __future__ import annotations

from leakbench.results import ActivitySample, LeakKind, RowResult, RunResult, Verdict
from leakbench.verdict import capacity as capacity_tools

_NO_POOL_VIEW = (
    "the pool is not visible (attach mode, or no SQLAlchemy pool in the target), "
    "so only PostgreSQL's side is known"
)


def vantage_notes(row: RowResult) -> list[str]:
    """Server side and app side after the settle, then what the server saw of the backends."""
    findings = row.findings
    if findings is None:
        return []
    final = findings.after_settle
    server = (
        f"After the settle, PostgreSQL still sees {final.in_transaction} connection(s) idle in "
        f"transaction and {final.active} active ({findings.baseline.in_transaction} and "
        f"{findings.baseline.active} at the baseline)"
    )
    notes = [f"{server}; {_pool_side(row)}."]
    notes.extend(leak_site_notes(row))
    notes.extend(_backend_notes(final))
    ends = findings.session_ends
    if ends is not None and ends.terminated and findings.verdict is not Verdict.INCONCLUSIVE:
        notes.append(
            f"PostgreSQL also ended {ends.terminated} session(s) of the database during the row "
            f"({ends.fatal} FATAL, e.g. idle_in_transaction_session_timeout; {ends.killed} killed)."
        )
    return notes


_KIND_LABELS = {
    LeakKind.NONE: "none",
    LeakKind.HELD_BY_REFERENCE: "held by a live reference",
    LeakKind.AWAITING_GC: "awaiting GC",
    LeakKind.CHECKED_OUT_IDLE: "checked out but idle",
    LeakKind.UNKNOWN: "unknown",
}


def leak_kind_label(kind: LeakKind) -> str:
    """The leak kind in words, as the reports show it."""
    return _KIND_LABELS[kind]


def leak_site_notes(row: RowResult) -> list[str]:
    """Where a LEAKED row's connections were taken, one line per place in the app's code."""
    findings = row.findings
    if findings is None or not findings.leak_sites:
        return []
    fate = (
        "returned only by the forced garbage collection"
        if findings.leak_kind is LeakKind.AWAITING_GC
        else "never returned"
    )
    return [
        f"{site.count} connection(s) checked out at {site.place}, {fate}."
        for site in findings.leak_sites
    ]


def _pool_side(row: RowResult) -> str:
    pool = row.pool_after_settle
    if pool is None:
        return _NO_POOL_VIEW
    text = f"the pool still has {pool.checked_out} checked out"
    if row.pool_baseline is not None:
        text += f" ({row.pool_baseline.checked_out} at the baseline)"
    after_gc = row.pool_after_gc
    if after_gc is not None and after_gc.checked_out != pool.checked_out:
        text += f", {after_gc.checked_out} after the forced garbage collection"
    return text


def _backend_notes(sample: ActivitySample) -> list[str]:
    detail = sample.detail
    if detail is None:
        return []
    notes: list[str] = []
    oldest = detail.oldest_transaction
    if oldest is not None:
        waiting = f", waiting on {oldest.wait_event}" if oldest.wait_event else ""
        app = f", application_name {oldest.application_name!r}" if oldest.application_name else ""
        notes.append(
            f"Oldest open transaction: {oldest.seconds:.1f} s, {oldest.state}{waiting}{app}; "
            f"its last query: {oldest.query or '(none)'}"
        )
    if detail.wait_events:
        waits = ", ".join(f"{w.count} {w.state} on {w.wait_event}" for w in detail.wait_events)
        notes.append(f"Wait events after the settle: {waits}.")
    return notes


def capacity_lines(result: RunResult) -> list[str]:
    """workers x (pool_size + max_overflow) against max_connections, once per distinct figure."""
    by_text: dict[str, list[str]] = {}
    for row in result.rows:
        if row.findings is None or row.findings.capacity is None:
            continue
        text = capacity_tools.describe(row.findings.capacity)
        if text is not None:
            by_text.setdefault(text, []).append(f"{row.pattern} {row.endpoint}")
    if len(by_text) == 1:
        return [f"Capacity: {next(iter(by_text))}."]
    return [f"Capacity of {', '.join(rows)}: {text}." for text, rows in by_text.items()]
