"""Fixtures of the integration lane: real runs shared by several tests."""

from __future__ import annotations

import pytest

from tests.integration.shared_runs import ReportRun, leak_and_twin_run


@pytest.fixture(scope="session")
def leak_and_twin(embedded_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> ReportRun:
    """One short CLI run of a real leak and its fixed twin, with all four report files."""
    return leak_and_twin_run(embedded_dsn, tmp_path_factory.mktemp("reports") / "run")
