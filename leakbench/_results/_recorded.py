"""What every report records beside the rows: the versions and the settings a run used."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Versions:
    """What leak behaviour depends on, recorded in every report."""

    python: str
    fastapi: str
    starlette: str
    sqlalchemy: str
    sqlmodel: str
    psycopg: str
    uvicorn: str
    httpx2: str
    leakbench: str
    postgresql: str = "unknown"
    # The DBAPI drivers the app's engines really use, read by its probe, with versions and
    # pool classes ("asyncpg 0.30.0 (AsyncAdaptedQueuePool)"); empty when unknown.
    drivers: tuple[str, ...] = ()

    def with_drivers(self, used: Iterable[tuple[str, ...]]) -> Versions:
        """These versions, naming the drivers the rows' apps used (each row's ``drivers``)."""
        drivers = tuple(sorted({driver for row in used for driver in row}))
        return dataclasses.replace(self, drivers=drivers) if drivers else self


@dataclass(frozen=True, slots=True)
class RunSettings:
    """The settings a run used, as recorded in its report (no secrets)."""

    database: str
    embedded_database: bool
    concurrency: int
    duration_seconds: float | None
    requests_per_row: int | None
    request_timeout_seconds: float
    pool_size: int
    max_overflow: int
    pool_timeout_seconds: float
    workers: int
    settle_seconds: float
    quiet_period_seconds: float
    max_idle_in_transaction: int
    poll_interval_seconds: float
    server_max_connections: int | None = None
    idle_in_transaction_session_timeout: str | None = None
    # Attach mode: the app leakbench loaded but did not start, and the filter on its connections.
    attach_url: str | None = None
    application_name: str | None = None
    # CI thresholds (leakbench._verdict.thresholds): what fails the run besides a leak.
    fail_on_leak: bool = True
    max_total_connections: int | None = None
    max_error_rate: float | None = None
    max_p95_ms: float | None = None
    # Open-loop load: requests per second (None: closed loop).
    rate_per_second: float | None = None
    # What every request carried: header names with their values redacted, the login route.
    request_headers: tuple[str, ...] = ()
    login: str | None = None
    # The app's own set-up (--setup-cmd), run before each target started.
    setup_commands: tuple[str, ...] = ()
    # The load came from this command (watch, --load-command) or tool (Locust), not the driver.
    load_command: str | None = None
    # Watch mode: leakbench neither started the app nor sent its load.
    watched: bool = False
    # Driver processes that shared each row's load (--driver-processes, or chosen).
    driver_processes: int = 1
    # --all-routes: each row is one route of the app's schema.
    all_routes: bool = False
    # How the driver's clients behaved: "full reads", or "abort 20%, hold 30s" (client_spec).
    clients: str = "full reads"
