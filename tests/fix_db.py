"""Database fixtures: the embedded server every test shares, and an external one.

Loaded as a pytest plugin (see pyproject's addopts). The embedded server is
started once per session (once per worker with pytest-xdist), lazily: only
when a test needs it. The header names both servers' versions so a failure
report says which PostgreSQL it ran against.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import psycopg
import pytest

from leakbench._postgres import admin
from leakbench._postgres.embedded import EmbeddedPostgres, bin_dir

EXTERNAL_DSN_ENV = "LEAKBENCH_TEST_DSN"
_DEFAULT_EXTERNAL = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
_embedded: EmbeddedPostgres | None = None


def embedded_server() -> EmbeddedPostgres:
    """The session's embedded server, started on first use."""
    global _embedded  # noqa: PLW0603 - one server per test session, on purpose
    if _embedded is None:
        server = EmbeddedPostgres()
        server.start()
        _embedded = server
    return _embedded


def external_dsn() -> str | None:
    """LEAKBENCH_TEST_DSN, or a server answering on 127.0.0.1:5432, or None."""
    dsn = os.environ.get(EXTERNAL_DSN_ENV)
    candidates = [dsn] if dsn else [_DEFAULT_EXTERNAL]
    for candidate in candidates:
        try:
            with psycopg.connect(candidate, connect_timeout=2):
                return candidate
        except psycopg.Error:
            continue
    return None


def _version(dsn: str) -> str:
    with psycopg.connect(dsn, connect_timeout=5) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


def _embedded_version() -> str:
    """The embedded server's version, asked of its binary: no server is started for it."""
    done = subprocess.run(
        [str(bin_dir() / "postgres"), "--version"], capture_output=True, text=True, check=False
    )
    return done.stdout.strip().rsplit(" ", 1)[-1] if done.returncode == 0 else "unknown"


def pytest_report_header() -> list[str]:
    """Which PostgreSQL the tests run against, said without starting one (``pytest
    tests/unit`` starts none; the embedded server starts when a test first needs it)."""
    external = external_dsn()
    return [
        f"embedded PostgreSQL: {_embedded_version()}",
        f"external PostgreSQL: {_version(external) if external else 'none'}",
    ]


def pytest_unconfigure() -> None:
    global _embedded  # noqa: PLW0603 - see embedded_server()
    if _embedded is not None:
        _embedded.stop()
        _embedded = None


@pytest.fixture(scope="session")
def embedded_dsn() -> str:
    """Admin DSN (maintenance database) of the shared embedded server."""
    return embedded_server().dsn


@pytest.fixture(scope="session")
def external_server_dsn() -> str:
    """Admin DSN of an external server; the test is skipped when there is none."""
    dsn = external_dsn()
    if dsn is None:
        pytest.skip(f"no external PostgreSQL: set {EXTERNAL_DSN_ENV} or run one on :5432")
    return dsn


@pytest.fixture
def owned_database(embedded_dsn: str) -> Iterator[str]:
    """A fresh leakbench-owned database on the embedded server, dropped afterwards."""
    name = f"{admin.DATABASE_PREFIX}test_{admin.new_run_id()}"
    with admin.connect(embedded_dsn) as conn:
        admin.create_owned_database(conn, name)
    try:
        yield name
    finally:
        with admin.connect(embedded_dsn) as conn:
            admin.drop_owned_database(conn, name)


def connections_by_state(admin_dsn: str, database: str) -> dict[str, int]:
    """An independent look at pg_stat_activity, the way a person would check by psql."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT coalesce(state, 'none'), count(*) FROM pg_stat_activity "
            "WHERE datname = %s GROUP BY 1",
            (database,),
        ).fetchall()
    return {str(state): int(count) for state, count in rows}
