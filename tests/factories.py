"""Hand-made result values for tests of pure code (rendering, reports, thresholds)."""

from __future__ import annotations

import dataclasses

from leakbench.results import RowResult, RunResult, RunSettings, Versions


def run_settings(**changes: object) -> RunSettings:
    """Settings as a small test run would record them; override any field by name."""
    settings = RunSettings(
        database="embedded",
        embedded_database=True,
        concurrency=10,
        duration_seconds=1.0,
        requests_per_row=None,
        request_timeout_seconds=10.0,
        pool_size=2,
        max_overflow=10,
        pool_timeout_seconds=30.0,
        workers=1,
        settle_seconds=1.0,
        quiet_period_seconds=1.0,
        max_idle_in_transaction=0,
        poll_interval_seconds=0.1,
    )
    return dataclasses.replace(settings, **changes)  # type: ignore[arg-type]


def run_result(*rows: RowResult, **setting_changes: object) -> RunResult:
    """A run holding ``rows``, with placeholder versions."""
    return RunResult(
        rows=rows, versions=Versions(*("1",) * 9), settings=run_settings(**setting_changes)
    )
