"""The two vantage points, in words: what PostgreSQL sees and what the pool says.

Plain strings for every report format (terminal, Markdown...); no rendering
library here. The server side comes from pg_stat_activity and
pg_stat_database, the app side from the in-target probe's pool counters.
"""

from __future__ import annotations

from leakbench.results import ActivitySample, RowResult, RunResult, Verdict
from leakbench.verdict import capacity as capacity_tools

_NO_POOL_VIEW = (
    "the pool is not visible (attach mode or watch mode, or no SQLAlchemy pool in the target), "
    "so only PostgreSQL's side is known"
)


def external_load_notes(row: RowResult) -> list[str]:
    """Where a row's load came from when another tool drove it, and what that tool reported."""
    external = row.external
    if external is None:
        return []
    if external.stopped:
        ending = f"stopped by leakbench after {external.elapsed_seconds:.1f} s"
    elif external.exit_code is None:
        ending = f"ran for {external.elapsed_seconds:.1f} s"
    else:
        ending = f"exited with code {external.exit_code} after {external.elapsed_seconds:.1f} s"
    notes = [f"Load from {external.command} ({ending}); leakbench sent no request itself."]
    if external.requests is not None:
        figures = f"{external.requests:,} requests, {external.failures or 0:,} failures"
        latency = external.latency
        if latency is not None:
            figures += f", p50/p95/p99 {latency.p50:,.1f}/{latency.p95:,.1f}/{latency.p99:,.1f} ms"
        notes.append(f"The load tool reported {figures}.")
    return notes


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
    notes.extend(_backend_notes(final))
    ends = findings.session_ends
    if ends is not None and ends.terminated and findings.verdict is not Verdict.INCONCLUSIVE:
        notes.append(
            f"PostgreSQL also ended {ends.terminated} session(s) of the database during the row "
            f"({ends.fatal} FATAL, e.g. idle_in_transaction_session_timeout; {ends.killed} killed)."
        )
    return notes


def _pool_side(row: RowResult) -> str:
    pool = row.pool_after_settle
    if pool is None:
        return _NO_POOL_VIEW
    text = f"the pool still has {pool.checked_out} checked out"
    if row.pool_baseline is not None:
        text += f" ({row.pool_baseline.checked_out} at the baseline)"
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
