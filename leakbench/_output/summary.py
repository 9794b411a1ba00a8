"""What every output shows, as plain strings: the headline, thresholds, versions, settings.

The terminal and each report format only decide how to lay these out, so
they never disagree on a figure, a column or a threshold's outcome.
"""

from __future__ import annotations

from dataclasses import dataclass

from leakbench._output.notes import pool_text
from leakbench._output.table import REPORT_COLUMNS
from leakbench._results import RunResult, RunSettings, Verdict, Versions
from leakbench._settings.dsn import redact
from leakbench._verdict.outcome import Outcome
from leakbench._verdict.thresholds import ThresholdFailure, ThresholdName, Thresholds

# The reports' table (shaped like the pull request's), from the one table definition;
# its headers, the first named for the run's rows, come from table.report_headers.
# Columns holding numbers, right-aligned by both formats.
NUMERIC_COLUMNS = frozenset(i for i, column in enumerate(REPORT_COLUMNS) if column.numeric)

VERDICT_MARKS = {
    Verdict.CLEAN: "✅",
    Verdict.LEAKED: "❌",
    Verdict.INCONCLUSIVE: "⚠️",
    Verdict.FAILED: "💥",
    Verdict.INTERRUPTED: "⏸️",
}


def headline(result: RunResult) -> str:
    """One sentence for the top of a report."""
    counts: dict[Verdict, int] = {}
    for row in result.rows:
        counts[row.verdict] = counts.get(row.verdict, 0) + 1
    parts = [f"{count} {verdict.value}" for verdict, count in counts.items()]
    text = f"{len(result.rows)} row(s): {', '.join(parts)}" if parts else "No row was measured"
    if result.interrupted:
        text += "; the run was interrupted, so only finished rows are shown"
    return text + "."


def _when(iso: str) -> str:
    """``2025-11-21T23:30:37+00:00`` as ``2025-11-21 23:30:37 UTC``."""
    return iso.replace("T", " ").replace("+00:00", " UTC") if iso else "-"


def period(result: RunResult) -> str:
    """When the run started and finished, as one sentence."""
    return f"Run from {_when(result.started_at)} to {_when(result.finished_at)}."


@dataclass(frozen=True, slots=True)
class ThresholdOutcome:
    """One threshold as a report lists it: its limit, and the rows that crossed it."""

    name: ThresholdName
    limit: str
    active: bool
    failures: tuple[ThresholdFailure, ...]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def outcome(self) -> str:
        if not self.active:
            return "not checked"
        if self.passed:
            return "passed"
        rows = ", ".join(failure.row for failure in self.failures)
        return f"failed: {rows}"


def _limit_texts(thresholds: Thresholds, settings: RunSettings) -> dict[ThresholdName, str]:
    tolerated = settings.max_idle_in_transaction
    return {
        ThresholdName.FAIL_ON_LEAK: (
            f"on: a LEAKED row fails (tolerating {tolerated} idle in transaction after the settle)"
            if thresholds.fail_on_leak
            else "off: LEAKED rows are reported but do not fail"
        ),
        ThresholdName.MAX_TOTAL_CONNECTIONS: (
            f"at most {thresholds.max_total_connections} connections at any sample"
            if thresholds.max_total_connections is not None
            else "not set"
        ),
        ThresholdName.MAX_ERROR_RATE: (
            f"at most {thresholds.max_error_rate:.2%} transport errors and timeouts "
            "(5xx responses do not count)"
            if thresholds.max_error_rate is not None
            else "not set"
        ),
        ThresholdName.MAX_P95_MS: (
            f"p95 latency at most {thresholds.max_p95_ms:g} ms"
            if thresholds.max_p95_ms is not None
            else "not set"
        ),
    }


def threshold_outcomes(result: RunResult, outcome: Outcome) -> tuple[ThresholdOutcome, ...]:
    """Every threshold, in option order, with what the run's rows did against it."""
    thresholds, failures = outcome.thresholds, outcome.failures
    active = {
        ThresholdName.FAIL_ON_LEAK: thresholds.fail_on_leak,
        ThresholdName.MAX_TOTAL_CONNECTIONS: thresholds.max_total_connections is not None,
        ThresholdName.MAX_ERROR_RATE: thresholds.max_error_rate is not None,
        ThresholdName.MAX_P95_MS: thresholds.max_p95_ms is not None,
    }
    limits = _limit_texts(thresholds, result.settings)
    return tuple(
        ThresholdOutcome(
            name=name,
            limit=limits[name],
            active=active[name],
            failures=tuple(f for f in failures if f.threshold is name),
        )
        for name in ThresholdName
    )


def version_items(versions: Versions) -> tuple[tuple[str, str], ...]:
    """Every version a report records, named."""
    return (
        ("Python", versions.python),
        ("FastAPI", versions.fastapi),
        ("Starlette", versions.starlette),
        ("SQLAlchemy", versions.sqlalchemy),
        ("SQLModel", versions.sqlmodel),
        ("psycopg", versions.psycopg),
        # The driver the app's engines really use (its probe said), beside the one installed.
        *((("driver in use", ", ".join(versions.drivers)),) if versions.drivers else ()),
        ("uvicorn", versions.uvicorn),
        ("httpx2", versions.httpx2),
        ("PostgreSQL", versions.postgresql),
        ("leakbench", versions.leakbench),
    )


def versions_line(versions: Versions) -> str:
    """The one versions line: ``Python 3.11.7 · FastAPI 0.121.0 · ...``."""
    return " · ".join(f"{name} {value}" for name, value in version_items(versions))


def _seconds(value: float | None) -> str:
    return f"{value:g} s" if value is not None else "-"


def _load_items(settings: RunSettings) -> list[tuple[str, str]]:
    """How the load was made: leakbench's driver, or another tool's command."""
    if settings.load_command is not None:
        return [("Load (not sent by leakbench)", redact(settings.load_command))]
    if settings.duration_seconds is not None:
        load = f"{settings.duration_seconds:g} s per row"
    else:
        load = f"{settings.requests_per_row or 0:,} requests per row"
    return [
        ("Load", f"{load}, {settings.concurrency} concurrent connections"),
        ("Load driver processes", str(settings.driver_processes)),
        ("Request timeout", _seconds(settings.request_timeout_seconds)),
    ]


def _pool_item(result: RunResult) -> str:
    """leakbench's pool settings, or each app's own pool where the probe read another."""
    pool = pool_text(result)
    if "read from the app" in pool:
        return pool
    settings = result.settings
    return (
        f"pool_size={settings.pool_size}, max_overflow={settings.max_overflow}, "
        f"pool_timeout={settings.pool_timeout_seconds:g} s"
    )


def setting_items(result: RunResult) -> tuple[tuple[str, str], ...]:
    settings = result.settings
    items = [("Database", redact(settings.database)), *_load_items(settings)]
    if not settings.watched:
        items += [
            ("Pool (per worker)", _pool_item(result)),
            ("uvicorn workers", str(settings.workers)),
        ]
    items += [
        (
            "Settle",
            f"up to {settings.settle_seconds:g} s, done after "
            f"{settings.quiet_period_seconds:g} s quiet",
        ),
        ("Idle in transaction tolerated after the settle", str(settings.max_idle_in_transaction)),
        ("pg_stat_activity poll interval", _seconds(settings.poll_interval_seconds)),
        (
            "Server max_connections",
            str(settings.server_max_connections)
            if settings.server_max_connections is not None
            else "unknown",
        ),
        (
            "Server idle_in_transaction_session_timeout",
            settings.idle_in_transaction_session_timeout or "unknown",
        ),
    ]
    if settings.attach_url:
        items.append(("Attached to (not started by leakbench)", redact(settings.attach_url)))
    if settings.setup_commands:
        items.append(("Set-up commands", "; ".join(settings.setup_commands)))
    if settings.login:
        items.append(("Logged in with", settings.login))
    if settings.request_headers:
        items.append(("Headers (values redacted)", ", ".join(settings.request_headers)))
    if settings.watched:
        judged = (
            f"connections with application_name {settings.application_name!r}"
            if settings.application_name
            else "every connection to the database"
        )
        items.append(("Watched (app not started by leakbench)", judged))
    return tuple(items)
