"""The parts of a run's result that every kind of target builds alike.

The timestamps, the warnings shown and kept, and the settings recorded in
the report, for every kind of target (:mod:`leakbench._runner.loop`).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from leakbench._load.external_tool import display
from leakbench._load.processes import chosen_processes
from leakbench._postgres.server import Server
from leakbench._progress.events import RunObserver
from leakbench._results import RunSettings
from leakbench._settings import RunConfig
from leakbench._settings.dsn import redact
from leakbench._settings.requests import WS_METHOD


def now() -> str:
    """The time in UTC, to the second, as the reports record it."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def warn(observer: RunObserver, warnings: list[str], texts: Iterable[str]) -> None:
    """Show each of ``texts`` now and keep it with the result."""
    for text in texts:
        warnings.append(text)
        observer.warning(text)


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
        application_name=_application_name(config),
        attach_url=redact(config.attach.url) if config.attach else None,
        watched=config.watch is not None,
        driver_processes=chosen_processes(config.load.driver_processes, config.workers),
        all_routes=config.all_routes is not None,
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


def _application_name(config: RunConfig) -> str | None:
    """The one application_name judged (attach and watch modes), if given."""
    if config.watch is not None:
        return config.watch.application_name
    return config.attach.application_name if config.attach is not None else None
