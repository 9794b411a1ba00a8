"""Scenarios whose verdict changes when clients leave earn it (see scenario_runs.py).

Half the HTTP requests are abandoned before their end (--abort 50%) and every
WebSocket session drops after its first message. A scenario that cancels its
handlers when their client leaves is also measured with full reads here, so its
cancellation counts are compared between the two.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from leakbench import scenarios
from leakbench._results import LeakKind, LoadStats, Verdict
from leakbench.scenarios._cancel import ON_DISCONNECT
from tests.consistency import contradictions
from tests.integration.scenario_runs import (
    NO_SQLALCHEMY_POOL,
    Rows,
    cancellations,
    check_expected_verdict,
    explain,
    measure,
)

LEAVING = [s for s in scenarios.SCENARIOS if s.when_clients_leave is not None]
CANCELS = [s for s in scenarios.SCENARIOS if s.cancels]
# The place of a cancellation that reached a request queued for a connection.
_WAITING = "waiting for a pool slot"


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each measured run's targets' output, a folder per run."""
    return tmp_path_factory.mktemp("scenario-logs")


@pytest.fixture(scope="module")
def leaving_rows(embedded_dsn: str, logs: Path) -> Rows:
    return measure(LEAVING, embedded_dsn, leaving=True, logs=logs / "leaving")


@pytest.fixture(scope="module")
def full_read_rows(embedded_dsn: str, logs: Path) -> Rows:
    return measure(CANCELS, embedded_dsn, logs=logs / "full-reads")


@pytest.mark.parametrize("scenario", LEAVING, ids=lambda s: s.name)
def test_scenario_earns_its_verdict_when_its_clients_leave(
    scenario: scenarios.Scenario, leaving_rows: Rows
) -> None:
    for row in leaving_rows[scenario.name]:
        assert row.findings is not None and row.load is not None, explain(row)
        if scenario.leave_client_lost and row.verdict is Verdict.INCONCLUSIVE:
            # Only for PostgreSQL's FATAL count (a cancelled handler's connection closed while
            # the server answered), with nothing left after the settle.
            ends = row.findings.session_ends
            assert ends is not None and ends.fatal > 0 and ends.killed == 0, explain(row)
            assert row.findings.after_settle.in_transaction == 0, explain(row)
            assert row.findings.leaked_connections == 0, explain(row)
            continue
        assert row.verdict == Verdict(scenario.when_clients_leave), explain(row)
        assert contradictions(row.findings) == [], explain(row)
        # Clients did leave, counted apart from the errors.
        assert row.load.left > 0, explain(row)
        assert row.findings.pool_checkouts or scenario.name in NO_SQLALCHEMY_POOL, explain(row)
        expected_kind = scenario.leave_leak_kind
        assert row.findings.leak_kind is (
            LeakKind(expected_kind) if expected_kind else LeakKind.NONE
        ), explain(row)


@pytest.mark.parametrize("scenario", CANCELS, ids=lambda s: s.name)
def test_a_scenario_that_cancels_earns_its_verdict_with_full_reads(
    scenario: scenarios.Scenario, full_read_rows: Rows
) -> None:
    check_expected_verdict(scenario, full_read_rows[scenario.name])


@pytest.mark.parametrize("scenario", CANCELS, ids=lambda s: s.name)
def test_clients_that_leave_cancel_the_handlers_of_a_scenario_that_cancels(
    scenario: scenarios.Scenario, leaving_rows: Rows, full_read_rows: Rows, logs: Path
) -> None:
    """Its CLEAN when clients leave is about cancelled handlers: the targets counted them."""
    (row,) = leaving_rows[scenario.name]
    (full_reads,) = full_read_rows[scenario.name]
    assert row.load is not None and full_reads.load is not None

    def cut_off(load: LoadStats) -> int:
        # Clients that leave without being asked to: those that gave up (errors) and those
        # the load's end cut off (at most one per connection).
        return load.concurrency + load.errors

    left = cancellations(logs / "leaving" / scenario.name)
    # Requests cancelled because their client left, some of them queued for a connection
    # (40 clients on a 12-connection pool), and never more than the clients that left.
    assert 0 < left[ON_DISCONNECT] <= row.load.left + cut_off(row.load), left
    assert left[_WAITING] > 0, left
    # With full reads the answer's own end is no disconnect to cancel on.
    stayed = cancellations(logs / "full-reads" / scenario.name)
    assert stayed[ON_DISCONNECT] <= cut_off(full_reads.load), stayed
