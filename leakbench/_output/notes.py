"""The notes under a row, in words, for the terminal and every report format.

What a row's verdict rests on (its reasons), the two vantage points (what
PostgreSQL sees and what the pool says) and caveats on its figures. Plain
strings; no rendering library here. The server side comes from
pg_stat_activity and pg_stat_database, the app side from the in-target
probe's pool counters.
"""

from __future__ import annotations

from leakbench._results import (
    ActivitySample,
    Findings,
    LeakKind,
    LoadStats,
    RowResult,
    RunResult,
    Verdict,
)
from leakbench._settings.dsn import redact
from leakbench._verdict import capacity as capacity_tools

_NO_POOL_VIEW = (
    "the pool is not visible (attach mode or watch mode, or no SQLAlchemy or psycopg_pool pool "
    "in the target), "
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
    notes.extend(leak_site_notes(row))
    notes.extend(_backend_notes(final))
    ends = findings.session_ends
    if ends is not None and ends.terminated and findings.verdict is not Verdict.INCONCLUSIVE:
        notes.append(
            f"PostgreSQL also ended {ends.terminated} session(s) of the database during the row "
            f"({ends.fatal} FATAL, e.g. idle_in_transaction_session_timeout; {ends.killed} killed)."
        )
    return notes


def route_notes(row: RowResult) -> list[str]:
    """A mix row's requests per route, with their answers by status class."""
    if row.load is None or not row.load.routes:
        return []
    return ["Routes: " + "; ".join(route.describe() for route in row.load.routes) + "."]


_KIND_LABELS = {
    LeakKind.NONE: "none",
    LeakKind.HELD_BY_REFERENCE: "held by a live reference",
    LeakKind.AWAITING_GC: "awaiting GC",
    LeakKind.CHECKED_OUT_IDLE: "checked out but idle",
    LeakKind.LOST_BY_POOL: "lost by the pool",
    LeakKind.ENGINES_NOT_DISPOSED: "engines never disposed",
    LeakKind.UNKNOWN: "unknown",
}


def leak_kind_label(kind: LeakKind) -> str:
    """The leak kind in words, as the reports show it."""
    return _KIND_LABELS[kind]


def leak_site_notes(row: RowResult) -> list[str]:
    """Where a LEAKED row's connections were taken, one line per place in the app's code."""
    findings = row.findings
    if findings is None or not (findings.leak_sites or findings.in_flight_sites):
        return []
    fate = (
        "returned only by the forced garbage collection"
        if findings.leak_kind is LeakKind.AWAITING_GC
        else "never returned"
    )
    return [
        f"{site.count} connection(s) checked out at {site.place}, {fate}."
        for site in findings.leak_sites
    ] + [
        f"{site.count} connection(s) checked out at {site.place} were still in flight: requests "
        "still running after the settle (waiting for the pool) held them and returned them "
        "since; not a leak site."
        for site in findings.in_flight_sites
    ]


def _pool_side(row: RowResult) -> str:
    pool = row.pool_after_settle
    if pool is None or not pool.seen:
        return _NO_POOL_VIEW
    text = f"the pool still has {pool.checked_out} checked out"
    if pool.psycopg_pools:
        text = f"the pool ({pool.kind}) still has {pool.checked_out} checked out"
    if row.pool_baseline is not None:
        text += f" ({row.pool_baseline.checked_out} at the baseline)"
    after_gc = row.pool_after_gc
    if after_gc is not None and after_gc.checked_out != pool.checked_out:
        text += f", {after_gc.checked_out} after the forced garbage collection"
    if pool.psycopg_waiting:
        text += f", {pool.psycopg_waiting} request(s) in its queue for a connection"
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
            by_text.setdefault(text, []).append(f"{row.target} {row.endpoint}")
    if len(by_text) == 1:
        return [f"Capacity: {next(iter(by_text))}."]
    return [f"Capacity of {', '.join(rows)}: {text}." for text, rows in by_text.items()]


def row_notes(row: RowResult) -> list[str]:
    """What a row's verdict rests on, and caveats on its figures (shared by every format)."""
    notes: list[str] = []
    if row.note:
        notes.append(row.note)
    if row.error:
        notes.append(row.error)
    if row.findings is not None:
        notes.extend(row.findings.reasons)
    notes.extend(route_notes(row))
    notes.extend(vantage_notes(row))
    notes.extend(external_load_notes(row))
    if row.load is not None and row.load.driver_saturated:
        notes.append(
            "leakbench's load driver was running or waiting for a CPU most of the load: "
            "req/s is the driver's limit, not the app's."
        )
    if row.load is not None and row.load.left:
        notes.append(_left_note(row.load, row.handlers_after_load, row.findings))
    if row.load is not None and row.load.disconnects:
        notes.append(_disconnect_note(row, row.load.disconnects))
    return notes


def _disconnect_note(row: RowResult, count: int) -> str:
    """Why requests went unanswered: the target died, or closed connections on purpose."""
    if row.target_exit_code is not None:
        return (
            f"{count:,} request(s) went unanswered: the target exited (code "
            f"{row.target_exit_code}) during the row, which cut its connections. "
            "Requests and req/s count answered requests only."
        )
    return (
        f"{count:,} request(s) went unanswered: the server closed the "
        "connection first (uvicorn does after an unhandled exception); leakbench reconnected. "
        "Requests and req/s count answered requests only."
    )


def _left_note(load: LoadStats, running: int | None, findings: Findings | None) -> str:
    """What the clients that left early did, and the handlers they left behind."""
    parts = []
    if load.aborted:
        parts.append(f"{load.aborted:,} request(s) abandoned before the answer")
    if load.streams_left:
        parts.append(f"{load.streams_left:,} stream(s) left part way")
    text = (
        f"Clients left early as asked: {' and '.join(parts)}, their connections closed; "
        "counted apart, neither answers nor errors, and out of the latency percentiles."
    )
    if running:
        settled = (
            f"the settle waited {findings.settle_seconds:g} s for them"
            if findings is not None and findings.settled
            else "the settle ran out of time before they were done"
        )
        if findings is not None and findings.leak_kind is LeakKind.LOST_BY_POOL:
            # The pool's own count (psycopg_pool's) holds the connections it lost, too.
            text += (
                f" When the load ended, the pool counted {running:,} connection(s) checked "
                f"out, held by handlers still running or lost by the pool; {settled}."
            )
        else:
            text += (
                f" When the load ended, {running:,} handler(s) were still running with a "
                f"connection checked out; {settled}."
            )
    elif running == 0:
        text += " No handler still held a connection when the load ended."
    return text


def needs_notes(row: RowResult) -> bool:
    """True for a row whose notes belong under the terminal's table.

    A leak, a doubt (INCONCLUSIVE), an error or a capacity finding needs its
    reasons where the user looks first; a CLEAN row with nothing unusual keeps
    its notes in the reports, so the rows that matter do not drown.
    """
    if row.verdict is not Verdict.CLEAN or row.error or row.note or _route_trouble(row):
        return True
    capacity = row.findings.capacity if row.findings is not None else None
    return capacity is not None and bool(
        capacity.exceeds_server or capacity.pool_timeouts or capacity.request_timeouts
    )


def _route_trouble(row: RowResult) -> bool:
    """A mix route that got errors, 4xx or 5xx answers, or failed: a doubt on the mix."""
    routes = row.load.routes if row.load is not None else ()
    return any(
        route.failures or any(status >= 400 for status, _ in route.status_counts)
        for route in routes
    )


def pool_text(result: RunResult) -> str:
    """The pool settings, as each target had them.

    leakbench hands its scenarios ``pool_size`` and ``max_overflow``; a user's
    app keeps its own pool, which the in-target probe reads (a row's capacity
    figures hold it). Where an app's pool differs from leakbench's settings,
    the app's is shown.
    """
    settings = result.settings
    configured = f"pool_size={settings.pool_size} max_overflow={settings.max_overflow}"
    per_worker: dict[str, int] = {}
    for row in result.rows:
        capacity = row.findings.capacity if row.findings is not None else None
        if capacity is not None and capacity.per_worker is not None:
            per_worker.setdefault(row.target, capacity.per_worker)
    own = {
        target: size
        for target, size in per_worker.items()
        if size != settings.pool_size + settings.max_overflow
    }
    if not own:
        return configured
    sizes = set(own.values())
    if len(own) == len(per_worker) and len(sizes) == 1:
        return f"pool {sizes.pop()} per worker (pool_size + max_overflow, read from the app)"
    each = ", ".join(f"{target} {size}" for target, size in own.items())
    return f"{configured}, but read from the app, per worker: {each}"


def settings_line(result: RunResult) -> str:
    """What the run was set to, on one line: pool, workers, load, settle and database."""
    s = result.settings
    pace = f" rate={s.rate_per_second:g}/s" if s.rate_per_second else ""
    settle = f"settle≤{s.settle_seconds:g}s"
    if s.clients != "full reads":
        settle += f" · clients: {s.clients}"
    load = f"concurrency={s.concurrency}{pace} driver_processes={s.driver_processes} {settle}"
    if s.load_command is not None:
        load = f"load from {s.load_command} {settle}"
    only = f" (application_name {s.application_name!r})" if s.application_name else ""
    if s.watched:
        return f"watching the database{only}, {load} · {redact(s.database)}"
    if s.attach_url is not None:
        return f"attached to {s.attach_url}{only} {load} · {redact(s.database)}"
    return f"workers={s.workers} {load} · {pool_text(result)} · {redact(s.database)}"
