"""Every shipped scenario earns the verdict its registry entry promises, on real PostgreSQL.

One ``leakbench.run()`` per scenario covers all its endpoints (a row each,
on a fresh target process and database of the shared embedded server). A
new scenario is picked up by the parametrisation, so it cannot ship without
a verdict that holds. The registry's own checks are in
tests/unit/test_scenario_registry.py.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from leakbench import LoadSettings, PoolSettings, RunConfig, VerdictSettings, run, scenarios
from leakbench.client_spec import AbortSpec, ClientBehaviour, WebSocketSpec
from leakbench.results import LeakKind, LoadStats, RowResult, Verdict
from leakbench.scenarios._cancel import LOG_PREFIX, ON_DISCONNECT
from leakbench.targets.specs import scenario_target
from tests.consistency import contradictions

# Small load, as CI runs this on 2 cores: a second drains a leaking pool many
# times over. When a leak drains the pool, requests wait for it: short client and
# pool timeouts keep such rows (and the target's shutdown, which waits for them)
# from lasting the defaults' 10 and 30 s. A leaking row never settles, so it waits
# the whole settle: 2 s is twice what the clean ones need (the 1 s quiet period).
LOAD = LoadSettings(concurrency=40, duration=1.0, request_timeout=2.0)
# A scenario's key in the measured rows when its clients leave.
_LEAVING = "{} leaving"


def load_for(scenario: scenarios.Scenario, *, leaving: bool = False) -> LoadSettings:
    """LOAD, with the scenario's WebSocket session; when ``leaving``, clients that leave:
    half abandon an HTTP request before its end (--abort 50%), every WS session drops
    after its first message."""
    websocket = WebSocketSpec(receive=1 if leaving else scenario.ws_receive, drop=leaving)
    client = ClientBehaviour(abort=AbortSpec.parse("50%")) if leaving else ClientBehaviour()
    concurrency = min(LOAD.concurrency, scenario.max_concurrency or LOAD.concurrency)
    return dataclasses.replace(LOAD, client=client, websocket=websocket, concurrency=concurrency)


POOL = PoolSettings(pool_size=2, max_overflow=10, pool_timeout=0.5)
VERDICT = VerdictSettings(settle=2.0)
# Where a scenario that cancels (Scenario.cancels) says it cancelled a handler, in its log.
_CANCELLED = re.compile(rf"^{re.escape(LOG_PREFIX)} (.+) \(\d+\)$", re.MULTILINE)
# The place of a cancellation that reached a request queued for a connection.
_WAITING = "waiting for a pool slot"
# No pool of SQLAlchemy's: the probe counts no checkout (psycopg_pool's own pool is used).
_NO_SQLALCHEMY_POOL = frozenset({"cancelled-pool-wait"})


def cancellations(logs: Path) -> Counter[str]:
    """The cancellations the targets whose output is in ``logs`` counted, by place."""
    return Counter(
        place for log in logs.glob("**/*.log*") for place in _CANCELLED.findall(log.read_text())
    )


@pytest.fixture(scope="module")
def logs_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each measured run's targets' output, a folder per run (see :func:`scenario_rows`)."""
    return tmp_path_factory.mktemp("scenario-logs")


@pytest.fixture(scope="module")
def scenario_rows(embedded_dsn: str, logs_folder: Path) -> dict[str, tuple[RowResult, ...]]:
    """Every scenario measured once per module: one ``run()`` each, two at a time.

    Each run has its own targets and database; only the embedded server is
    shared. Two runs overlap because a row spends most of its time waiting
    (the settle, the target's start): on 2 cores this nearly halves the module's
    time without changing what a row sees in its own database.
    """

    def measure(scenario: scenarios.Scenario, *, leaving: bool = False) -> tuple[RowResult, ...]:
        config = RunConfig(
            targets=(scenario_target(scenario),),
            load=load_for(scenario, leaving=leaving),
            pool=POOL,
            verdict=VERDICT,
            dsn=embedded_dsn,
            target_logs=logs_folder
            / (_LEAVING.format(scenario.name) if leaving else scenario.name),
        )
        return run(config).rows

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="scenario") as pool:
        futures = {s.name: pool.submit(measure, s) for s in scenarios.SCENARIOS}
        for s in scenarios.SCENARIOS:
            if s.when_clients_leave is not None:
                futures[_LEAVING.format(s.name)] = pool.submit(measure, s, leaving=True)
        return {name: future.result() for name, future in futures.items()}


def explain(row: RowResult) -> str:
    reasons = row.findings.reasons if row.findings else ()
    return f"{row.pattern} {row.endpoint}: {row.verdict} {row.error or ''} {' | '.join(reasons)}"


@pytest.mark.parametrize("scenario", scenarios.SCENARIOS, ids=lambda s: s.name)
def test_scenario_earns_its_expected_verdict(
    scenario: scenarios.Scenario, scenario_rows: dict[str, tuple[RowResult, ...]]
) -> None:
    rows = scenario_rows[scenario.name]
    assert len(rows) == len(scenario.endpoints) + bool(scenario.mix)
    for row in rows:
        assert row.verdict == Verdict(scenario.expected), explain(row)
        assert row.findings is not None and row.load is not None
        # The database proves the requests reached it, whatever status they got.
        assert row.findings.pool_checkouts or scenario.name in _NO_SQLALCHEMY_POOL, explain(row)
        assert row.findings.connections_used or row.findings.new_sessions, explain(row)
        assert contradictions(row.findings) == [], explain(row)
        if scenario.expected == "CLEAN":
            assert row.findings.leak_kind is LeakKind.NONE, explain(row)
            assert row.findings.after_settle.in_transaction == 0, explain(row)
        else:
            assert scenario.leak_kind is not None, "a LEAKED scenario names its leak kind"
            assert row.findings.leak_kind is LeakKind(scenario.leak_kind), explain(row)
            assert row.findings.leaked_connections > 0, explain(row)
            if row.findings.pool_leaked_connections:
                # The probe names the scenario's own line that took each kept connection.
                sites = row.findings.leak_sites
                assert sites and all("scenarios/" in s.file for s in sites), explain(row)
                assert sum(s.count for s in sites) == row.findings.pool_leaked_connections


@pytest.mark.parametrize(
    "scenario",
    [s for s in scenarios.SCENARIOS if s.when_clients_leave is not None],
    ids=lambda s: s.name,
)
def test_scenario_earns_its_verdict_when_its_clients_leave(
    scenario: scenarios.Scenario, scenario_rows: dict[str, tuple[RowResult, ...]]
) -> None:
    for row in scenario_rows[_LEAVING.format(scenario.name)]:
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
        assert row.findings.pool_checkouts or scenario.name in _NO_SQLALCHEMY_POOL, explain(row)
        expected_kind = scenario.leave_leak_kind
        assert row.findings.leak_kind is (
            LeakKind(expected_kind) if expected_kind else LeakKind.NONE
        ), explain(row)


def test_the_slow_transaction_trap_is_clean_while_its_load_shows_idle_in_transaction(
    scenario_rows: dict[str, tuple[RowResult, ...]],
) -> None:
    for row in scenario_rows["slow-transaction"]:
        assert row.findings is not None
        assert row.verdict is Verdict.CLEAN, explain(row)
        # What a single snapshot during the load would call a leak.
        assert row.findings.peak_idle_in_transaction > 0, explain(row)
        assert row.findings.after_settle.in_transaction == 0


@pytest.mark.parametrize(
    "scenario", [s for s in scenarios.SCENARIOS if s.cancels], ids=lambda s: s.name
)
def test_clients_that_leave_cancel_the_handlers_of_a_scenario_that_cancels(
    scenario: scenarios.Scenario,
    scenario_rows: dict[str, tuple[RowResult, ...]],
    logs_folder: Path,
) -> None:
    """Its CLEAN when clients leave is about cancelled handlers: the targets counted them."""
    (row,) = scenario_rows[_LEAVING.format(scenario.name)]
    (full_reads,) = scenario_rows[scenario.name]
    assert row.load is not None and full_reads.load is not None

    def cut_off(load: LoadStats) -> int:
        # Clients that leave without being asked to: those that gave up (errors) and those
        # the load's end cut off (at most one per connection).
        return load.concurrency + load.errors

    left = cancellations(logs_folder / _LEAVING.format(scenario.name))
    # Requests cancelled because their client left, some of them queued for a connection
    # (40 clients on a 12-connection pool), and never more than the clients that left.
    assert 0 < left[ON_DISCONNECT] <= row.load.left + cut_off(row.load), left
    assert left[_WAITING] > 0, left
    # With full reads the answer's own end is no disconnect to cancel on.
    stayed = cancellations(logs_folder / scenario.name)
    assert stayed[ON_DISCONNECT] <= cut_off(full_reads.load), stayed
