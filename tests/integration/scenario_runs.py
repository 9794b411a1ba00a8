"""Measuring the shipped scenarios, and what each must show: shared by the scenario test modules.

The scenarios are checked in three modules (CLEAN ones, LEAKED ones, and the runs
where clients leave) so that pytest-xdist spreads them over its workers; each
module measures its own scenarios once, in a module-scoped fixture.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from leakbench import LoadSettings, PoolSettings, RunConfig, VerdictSettings, run, scenarios
from leakbench._results import LeakKind, RowResult, Verdict
from leakbench._settings.clients import AbortSpec, ClientBehaviour, WebSocketSpec
from leakbench._settings.target_names import scenario_target
from leakbench.scenarios._cancel import LOG_PREFIX
from tests.consistency import contradictions

# Small load, as CI runs this on 2 cores: a second drains a leaking pool many
# times over. When a leak drains the pool, requests wait for it: short client and
# pool timeouts keep such rows (and the target's shutdown, which waits for them)
# from lasting the defaults' 10 and 30 s. A leaking row never settles, so it waits
# the whole settle: 2 s is twice what the clean ones need (the 1 s quiet period).
LOAD = LoadSettings(concurrency=40, duration=1.0, request_timeout=2.0)
POOL = PoolSettings(pool_size=2, max_overflow=10, pool_timeout=0.5)
VERDICT = VerdictSettings(settle=2.0)

Rows = dict[str, tuple[RowResult, ...]]
# Where a scenario that cancels (Scenario.cancels) says it cancelled a handler, in its log.
_CANCELLED = re.compile(rf"^{re.escape(LOG_PREFIX)} (.+) \(\d+\)$", re.MULTILINE)
# No pool of SQLAlchemy's: the probe counts no checkout; it reads psycopg_pool's own pool.
NO_SQLALCHEMY_POOL = frozenset({"cancelled-pool-wait"})


def cancellations(logs: Path) -> Counter[str]:
    """The cancellations the targets whose output is in ``logs`` counted, by place."""
    return Counter(
        place for log in logs.glob("**/*.log*") for place in _CANCELLED.findall(log.read_text())
    )


def load_for(scenario: scenarios.Scenario, *, leaving: bool = False) -> LoadSettings:
    """LOAD, with the scenario's WebSocket session; when ``leaving``, clients that leave:
    half abandon an HTTP request before its end (--abort 50%), every WS session drops
    after its first message."""
    websocket = WebSocketSpec(receive=1 if leaving else scenario.ws_receive, drop=leaving)
    client = ClientBehaviour(abort=AbortSpec.parse("50%")) if leaving else ClientBehaviour()
    concurrency = min(LOAD.concurrency, scenario.max_concurrency or LOAD.concurrency)
    return dataclasses.replace(LOAD, client=client, websocket=websocket, concurrency=concurrency)


def measure(
    chosen: Iterable[scenarios.Scenario],
    dsn: str,
    *,
    leaving: bool = False,
    logs: Path | None = None,
) -> Rows:
    """Each scenario measured once: one ``run()`` each, two at a time.

    Each run has its own targets and database; only the embedded server is
    shared. Two runs overlap because a row spends most of its time waiting
    (the settle, the target's start): on 2 cores this nearly halves the time
    without changing what a row sees in its own database. With ``logs``, each
    run's targets' output is kept in a folder of its own there, named after the scenario.
    """

    def one(scenario: scenarios.Scenario) -> tuple[RowResult, ...]:
        config = RunConfig(
            targets=(scenario_target(scenario),),
            load=load_for(scenario, leaving=leaving),
            pool=POOL,
            verdict=VERDICT,
            dsn=dsn,
            target_logs=logs / scenario.name if logs is not None else None,
        )
        return run(config).rows

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="scenario") as pool:
        futures = {s.name: pool.submit(one, s) for s in chosen}
        return {name: future.result() for name, future in futures.items()}


def explain(row: RowResult) -> str:
    reasons = row.findings.reasons if row.findings else ()
    return f"{row.target} {row.endpoint}: {row.verdict} {row.error or ''} {' | '.join(reasons)}"


def check_expected_verdict(scenario: scenarios.Scenario, rows: tuple[RowResult, ...]) -> None:
    """Every row of ``scenario`` earns the verdict and the leak kind its registry entry says."""
    assert len(rows) == len(scenario.endpoints) + bool(scenario.mix)
    for row in rows:
        assert row.verdict == Verdict(scenario.expected), explain(row)
        assert row.findings is not None and row.load is not None
        # The database proves the requests reached it, whatever status they got.
        assert row.findings.pool_checkouts or scenario.name in NO_SQLALCHEMY_POOL, explain(row)
        if scenario.name in NO_SQLALCHEMY_POOL:
            # psycopg_pool's own pool is seen, and its count vouches for the verdict.
            seen = row.pool_after_settle
            assert seen is not None and seen.psycopg_pools, explain(row)
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
