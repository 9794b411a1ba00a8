"""The parts of a run's result that every mode builds alike.

The timestamps, the row of an interrupted run, the server's warnings and the
settings recorded in the report, for rows on targets leakbench started
(:mod:`leakbench.runner.run`) as for an app it did not
(:mod:`leakbench.runner.users_app`).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from leakbench.config import RunConfig
from leakbench.load.command import display
from leakbench.load.processes import chosen_processes
from leakbench.postgres.server import Server
from leakbench.progress.events import RunObserver
from leakbench.request_spec import WS_METHOD
from leakbench.results import RowResult, RunSettings, Verdict


def now() -> str:
    """The time in UTC, to the second, as the reports record it."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def interrupted_row(pattern: str, endpoint: str) -> RowResult:
    """The row that was under way when the run was interrupted: no verdict."""
    return RowResult(
        pattern,
        endpoint,
        Verdict.INTERRUPTED,
        None,
        None,
        error="The run was interrupted during this row; it has no verdict.",
    )


def warn(observer: RunObserver, warnings: list[str], texts: Iterable[str]) -> None:
    """Show each of ``texts`` now and keep it with the result."""
    for text in texts:
        warnings.append(text)
        observer.warning(text)


def server_warnings(server: Server) -> list[str]:
    """What about the server could hide a leak."""
    timeout = server.info.idle_in_transaction_session_timeout
    if timeout not in ("0", "0ms", ""):
        return [
            f"The server sets idle_in_transaction_session_timeout={timeout}: it ends sessions "
            "idle in transaction for longer, which can hide a leak as silent terminations."
        ]
    return []


def settings_for(config: RunConfig, server: Server) -> RunSettings:
    """The settings recorded in the report (no secrets)."""
    return RunSettings(
        database=server.description,
        embedded_database=server.embedded,
        concurrency=config.load.concurrency,
        duration_seconds=config.load.duration,
        requests_per_row=config.load.requests,
        request_timeout_seconds=config.load.request_timeout,
        clients=_clients(config),
        pool_size=config.pool.pool_size,
        max_overflow=config.pool.max_overflow,
        pool_timeout_seconds=config.pool.pool_timeout,
        workers=config.workers,
        settle_seconds=config.verdict.settle,
        quiet_period_seconds=config.verdict.quiet_period,
        max_idle_in_transaction=config.verdict.max_idle_in_transaction,
        poll_interval_seconds=config.poll_interval,
        server_max_connections=server.info.max_connections,
        idle_in_transaction_session_timeout=server.info.idle_in_transaction_session_timeout,
        fail_on_leak=config.thresholds.fail_on_leak,
        max_total_connections=config.thresholds.max_total_connections,
        max_error_rate=config.thresholds.max_error_rate,
        max_p95_ms=config.thresholds.max_p95_ms,
        rate_per_second=config.load.rate,
        request_headers=config.requests.redacted_headers,
        login=config.requests.login.label if config.requests.login else None,
        setup_commands=config.setup_commands,
        load_command=display(config.load_command.argv) if config.load_command else None,
        application_name=config.watch.application_name if config.watch else None,
        watched=config.watch is not None,
        driver_processes=chosen_processes(config.load.driver_processes, config.workers),
    )


def _clients(config: RunConfig) -> str:
    """How the clients behaved, and a WebSocket route's session when there is one."""
    described = config.load.client.describe()
    methods = {endpoint.method for endpoint in config.endpoints}
    methods |= {route.method for route in config.requests.mix}
    methods |= {
        endpoint.method for target in config.targets for endpoint in target.default_endpoints
    }
    if WS_METHOD in methods:
        described += f"; {config.load.websocket.describe()}"
    return described
