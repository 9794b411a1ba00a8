"""The JSON report: a documented, versioned schema (docs/report-schema.md).

``to_dict`` is the only place a result becomes JSON; ``from_dict`` reads a
saved report back so ``leakbench report`` can re-render it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from leakbench._redaction import redact_data
from leakbench._results import (
    ActivitySample,
    BackendDetail,
    Capacity,
    CheckoutSite,
    EngineSite,
    ExternalLoad,
    Findings,
    LatencySummary,
    LeakKind,
    LoadStats,
    MadeEngines,
    OldestTransaction,
    Phase,
    PoolReading,
    PoolStats,
    Reclaims,
    RouteStats,
    RowResult,
    RunResult,
    RunSettings,
    SessionEnds,
    Verdict,
    Versions,
    WaitEventCount,
)
from leakbench._verdict.outcome import Outcome
from leakbench._verdict.thresholds import ThresholdFailure
from leakbench.errors import ReportError

SCHEMA_VERSION = 2


def _sample(sample: ActivitySample) -> dict[str, Any]:
    data = dataclasses.asdict(sample)
    data["phase"] = sample.phase.value
    data["total"] = sample.total
    if sample.detail is None:
        # Only final and after-collection snapshots carry one; keep the 10 Hz samples small.
        del data["detail"]
    return data


def _optional(value: Any) -> dict[str, Any] | None:
    return dataclasses.asdict(value) if value is not None else None


def _route(route: RouteStats) -> dict[str, Any]:
    return {
        "label": route.label,
        "weight": route.weight,
        "completed": route.completed,
        "status_counts": {str(k): v for k, v in route.status_counts},
        "status_classes": route.status_classes,
        "failures": route.failures,
        "latency_ms": dataclasses.asdict(route.latency) if route.latency else None,
    }


def _route_from(data: dict[str, Any]) -> RouteStats:
    return RouteStats(
        label=data["label"],
        weight=data["weight"],
        status_counts=tuple(sorted((int(k), v) for k, v in data["status_counts"].items())),
        failures=data["failures"],
        latency=LatencySummary(**data["latency_ms"]) if data.get("latency_ms") else None,
    )


def _row(row: RowResult) -> dict[str, Any]:
    load, findings = row.load, row.findings
    data: dict[str, Any] = {
        "pattern": row.target,
        "endpoint": row.endpoint,
        "verdict": row.verdict.value,
        "error": row.error,
        "note": row.note,
        "start_failed": row.start_failed,
        "target_exit_code": row.target_exit_code,
        "requests": load.responses if load else 0,
        "unanswered": load.disconnects if load else 0,
        "left": load.left if load else 0,
        "errors": load.errors if load else 0,
        "error_rate": round(load.error_rate, 6) if load else 0.0,
        "rps": round(load.rps, 1) if load else 0.0,
        "latency_ms": dataclasses.asdict(load.latency) if load else None,
        "peak_idle_in_transaction": findings.peak_idle_in_transaction if findings else None,
        "idle_in_transaction": findings.after_settle.in_transaction if findings else None,
        "total_connections": findings.after_settle.total if findings else None,
        "peak_total_connections": findings.peak_total_connections if findings else None,
        "leak_kind": findings.leak_kind.value if findings else None,
        "reasons": list(findings.reasons) if findings else [],
        "load": None,
        "findings": None,
        "pool_after_settle": dataclasses.asdict(row.pool_after_settle)
        if row.pool_after_settle
        else None,
        "pool_baseline": _optional(row.pool_baseline),
        "pool_after_gc": _optional(row.pool_after_gc),
        "external": _optional(row.external),
        "handlers_after_load": row.handlers_after_load,
        "drivers": list(row.drivers),
        "samples": [_sample(s) for s in row.samples],
        "pool_readings": [dataclasses.asdict(reading) for reading in row.pool_readings],
    }
    if load is not None:
        load_data = dataclasses.asdict(load)
        load_data["status_counts"] = {str(k): v for k, v in load.status_counts}
        load_data["routes"] = [_route(route) for route in load.routes]
        data["load"] = load_data
    if findings is not None:
        data["findings"] = {
            "settled": findings.settled,
            "settle_seconds": findings.settle_seconds,
            "leaked_connections": findings.leaked_connections,
            "peak_active": findings.peak_active,
            "peak_oldest_transaction_seconds": findings.peak_oldest_transaction_seconds,
            "sample_gaps": findings.sample_gaps,
            "baseline": _sample(findings.baseline),
            "after_settle": _sample(findings.after_settle),
            "after_gc": _sample(findings.after_gc) if findings.after_gc else None,
            "session_ends": _optional(findings.session_ends),
            "capacity": _optional(findings.capacity),
            "pool_leaked_connections": findings.pool_leaked_connections,
            "pool_leaked_after_gc": findings.pool_leaked_after_gc,
            "database_transactions": findings.database_transactions,
            "pool_checkouts": findings.pool_checkouts,
            "connections_used": findings.connections_used,
            "new_sessions": findings.new_sessions,
            "leak_sites": [dataclasses.asdict(site) for site in findings.leak_sites],
            "in_flight_sites": [dataclasses.asdict(site) for site in findings.in_flight_sites],
            "reclaims": _optional(findings.reclaims),
            "made_engines": _optional(findings.made_engines),
        }
    return data


def _reclaims_from(data: dict[str, Any] | None) -> Reclaims | None:
    if not data:
        return None
    sites = tuple(CheckoutSite(**site) for site in data.get("sites", []))
    return Reclaims(**{**data, "sites": sites})


def _made_engines_from(data: dict[str, Any] | None) -> MadeEngines | None:
    if not data:
        return None
    sites = tuple(EngineSite(**site) for site in data.get("sites", []))
    return MadeEngines(**{**data, "sites": sites})


def to_dict(result: RunResult, outcome: Outcome) -> dict[str, Any]:
    """The report as the JSON schema's dictionary."""
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": "leakbench",
        "verdict": outcome.verdict.value,
        "interrupted": result.interrupted,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "versions": dataclasses.asdict(result.versions),
        "settings": dataclasses.asdict(result.settings),
        "warnings": list(result.warnings),
        "thresholds": _thresholds(outcome),
        "rows": [_row(row) for row in result.rows],
    }
    if result.combination:  # one column of `leakbench matrix`
        data["combination"] = dict(result.combination)
    return data


def _thresholds(outcome: Outcome) -> dict[str, Any]:
    """The outcome only: the limits themselves are in ``settings``, where a re-read finds them."""
    return {
        "passed": outcome.passed,
        "failures": [_failure(failure) for failure in outcome.failures],
    }


def _failure(failure: ThresholdFailure) -> dict[str, Any]:
    """A failed threshold; the row's target keeps the key ``pattern`` it had since schema 1."""
    fields = dataclasses.asdict(failure)
    fields["threshold"] = failure.threshold.value
    return {("pattern" if key == "target" else key): value for key, value in fields.items()}


_REPORT_MODE = 0o644


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename.

    ``text`` comes redacted: from :func:`leakbench._output.reports.render`, or
    from a JSON dump of redacted data.
    """
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise ReportError(
            f"Cannot write {path}: {exc.strerror}; choose a folder that exists and is writable."
        ) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        # mkstemp makes the file private (0600); a report is meant to be shared.
        Path(tmp).chmod(_REPORT_MODE)
        Path(tmp).replace(path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ReportError(f"Cannot write {path}: {exc.strerror}.") from None


def dumps(result: RunResult, outcome: Outcome) -> str:
    """The report as JSON text, every string in it redacted."""
    return json.dumps(redact_data(to_dict(result, outcome)), indent=2) + "\n"


def write_json(result: RunResult, outcome: Outcome, path: Path) -> None:
    write_atomic(path, dumps(result, outcome))


def _sample_from(data: dict[str, Any]) -> ActivitySample:
    fields = {f.name for f in dataclasses.fields(ActivitySample)}
    values = {k: v for k, v in data.items() if k in fields}
    values["phase"] = Phase(values["phase"])
    if values.get("detail"):
        values["detail"] = _detail_from(values["detail"])
    return ActivitySample(**values)


def _detail_from(data: dict[str, Any]) -> BackendDetail:
    oldest = data.get("oldest_transaction")
    return BackendDetail(
        oldest_transaction=OldestTransaction(**oldest) if oldest else None,
        wait_events=tuple(WaitEventCount(**w) for w in data.get("wait_events", [])),
        open_transactions=tuple(data.get("open_transactions", ())),
    )


def _settings_from(data: dict[str, Any]) -> RunSettings:
    raw = dict(data)
    for key in ("request_headers", "setup_commands"):
        raw[key] = tuple(raw.get(key, ()))
    return RunSettings(**raw)


def _row_from(data: dict[str, Any]) -> RowResult:
    load = None
    if data.get("load"):
        raw = dict(data["load"])
        raw["latency"] = LatencySummary(**raw["latency"])
        raw["status_counts"] = tuple(sorted((int(k), v) for k, v in raw["status_counts"].items()))
        raw["routes"] = tuple(_route_from(route) for route in raw.get("routes", ()))
        load = LoadStats(**raw)
    findings = None
    if data.get("findings"):
        f = data["findings"]
        findings = Findings(
            verdict=Verdict(data["verdict"]),
            reasons=tuple(data.get("reasons", [])),
            baseline=_sample_from(f["baseline"]),
            after_settle=_sample_from(f["after_settle"]),
            peak_idle_in_transaction=data["peak_idle_in_transaction"],
            peak_active=f["peak_active"],
            peak_total_connections=data["peak_total_connections"],
            peak_oldest_transaction_seconds=f["peak_oldest_transaction_seconds"],
            settled=f["settled"],
            settle_seconds=f["settle_seconds"],
            leaked_connections=f["leaked_connections"],
            leak_kind=LeakKind(data["leak_kind"]),
            after_gc=_sample_from(f["after_gc"]) if f.get("after_gc") else None,
            sample_gaps=f["sample_gaps"],
            session_ends=SessionEnds(**f["session_ends"]) if f.get("session_ends") else None,
            capacity=Capacity(**f["capacity"]) if f.get("capacity") else None,
            pool_leaked_connections=f.get("pool_leaked_connections"),
            pool_leaked_after_gc=f.get("pool_leaked_after_gc"),
            database_transactions=f.get("database_transactions"),
            pool_checkouts=f.get("pool_checkouts"),
            connections_used=f.get("connections_used"),
            new_sessions=f.get("new_sessions"),
            leak_sites=tuple(CheckoutSite(**site) for site in f.get("leak_sites", [])),
            in_flight_sites=tuple(CheckoutSite(**s) for s in f.get("in_flight_sites", [])),
            reclaims=_reclaims_from(f.get("reclaims")),
            made_engines=_made_engines_from(f.get("made_engines")),
        )
    pool = PoolStats(**data["pool_after_settle"]) if data.get("pool_after_settle") else None
    baseline_pool = PoolStats(**data["pool_baseline"]) if data.get("pool_baseline") else None
    gc_pool = PoolStats(**data["pool_after_gc"]) if data.get("pool_after_gc") else None
    external = None
    if data.get("external"):
        raw_external = dict(data["external"])
        if raw_external.get("latency"):
            raw_external["latency"] = LatencySummary(**raw_external["latency"])
        external = ExternalLoad(**raw_external)
    return RowResult(
        target=data["pattern"],
        endpoint=data["endpoint"],
        verdict=Verdict(data["verdict"]),
        load=load,
        findings=findings,
        samples=tuple(_sample_from(s) for s in data.get("samples", [])),
        pool_after_settle=pool,
        pool_baseline=baseline_pool,
        error=data.get("error"),
        start_failed=bool(data.get("start_failed", False)),
        target_exit_code=data.get("target_exit_code"),
        pool_after_gc=gc_pool,
        external=external,
        note=data.get("note"),
        handlers_after_load=data.get("handlers_after_load"),
        pool_readings=tuple(PoolReading(**reading) for reading in data.get("pool_readings", [])),
        drivers=tuple(data.get("drivers", ())),
    )


def from_dict(data: dict[str, Any]) -> RunResult:
    """Rebuild a result from a saved report, or raise ReportError."""
    if data.get("tool") != "leakbench" or data.get("schema_version") != SCHEMA_VERSION:
        raise ReportError(
            f"This is not a leakbench report of schema version {SCHEMA_VERSION}; "
            "re-run leakbench to produce one."
        )
    try:
        return RunResult(
            rows=tuple(_row_from(row) for row in data["rows"]),
            versions=Versions(
                **{**data["versions"], "drivers": tuple(data["versions"].get("drivers", ()))}
            ),
            settings=_settings_from(data["settings"]),
            started_at=data["started_at"],
            finished_at=data["finished_at"],
            interrupted=data["interrupted"],
            warnings=tuple(data.get("warnings", [])),
            combination=tuple(
                (str(name), str(version)) for name, version in data.get("combination", {}).items()
            ),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportError(f"The report is incomplete or damaged ({exc!r}).") from None


def read_json(path: Path) -> RunResult:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ReportError(f"Cannot read {path}: {exc.strerror}; check the path.") from None
    except ValueError:
        raise ReportError(
            f"{path} is not valid JSON; give a report.json leakbench wrote."
        ) from None
    if not isinstance(data, dict):
        raise ReportError(f"{path} is not a leakbench report.")
    return from_dict(data)
