"""A target's DATABASE_URL reaches the real server with the --dsn's options intact."""

from __future__ import annotations

import psycopg
from sqlalchemy import create_engine, text

from leakbench._settings import dsn
from leakbench._targets.env import database_environment


def test_sqlalchemy_and_psycopg_connect_with_the_dsn_application_name(
    embedded_dsn: str, owned_database: str
) -> None:
    params = dsn.validate(
        dsn.with_database(f"{embedded_dsn} application_name='checkout api'", owned_database)
    )
    params["sslmode"] = "disable"  # the embedded server has no TLS; 'disable' must reach libpq
    url = database_environment(params)["DATABASE_URL"]

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT current_setting('application_name'), current_database()")
        assert row.fetchone() == ("checkout api", owned_database)
        assert conn.info.get_parameters()["sslmode"] == "disable"

    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            name = conn.execute(text("SELECT current_setting('application_name')")).scalar()
            assert name == "checkout api"
    finally:
        engine.dispose()
