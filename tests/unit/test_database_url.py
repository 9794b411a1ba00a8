"""DATABASE_URL from a --dsn: every option kept, read back the same by libpq and SQLAlchemy."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import make_url

from leakbench._settings import EnvTemplate, dsn
from leakbench._targets.env import database_environment

# Printable text with the characters URLs treat specially: space, @ : / ? # & = + % [ ].
_text = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="'\\"),
    min_size=1,
    max_size=16,
)
_hosts = st.sampled_from(
    ["db.example", "127.0.0.1", "::1", "2001:db8::17", "/run/postgresql", "a.example,b.example"]
)


def _read_by_sqlalchemy(url: str) -> dict[str, str]:
    """The parameters SQLAlchemy's PostgreSQL dialects take from ``url``."""
    parsed = make_url(url)
    params = {
        key: str(value)
        for key, value in parsed.translate_connect_args(username="user", database="dbname").items()
    }
    params.update({key: str(value) for key, value in parsed.query.items()})
    return params


@st.composite
def _dsn_params(draw: st.DrawFn) -> dict[str, str]:
    host = draw(_hosts)
    params = {"host": host, "user": draw(_text), "dbname": draw(_text)}
    params["port"] = "5433"
    for option, values in (
        ("password", _text),
        ("sslmode", st.sampled_from(["require", "verify-full"])),
        ("sslrootcert", _text.map(lambda name: f"/etc/ssl/{name}")),
        ("application_name", _text),
    ):
        if draw(st.booleans()):
            params[option] = draw(values)
    return params


@given(params=_dsn_params())
def test_the_url_holds_every_option_for_libpq_and_sqlalchemy(params: dict[str, str]) -> None:
    url = dsn.to_url(params)
    assert dsn.validate(url) == params
    assert _read_by_sqlalchemy(url) == params


def test_an_ipv6_host_is_bracketed_and_options_go_in_the_query() -> None:
    params = {
        "host": "::1",
        "port": "5432",
        "user": "app",
        "dbname": "shop",
        "sslmode": "verify-full",
        "sslrootcert": "/etc/ssl/root ca.crt",
        "application_name": "checkout api",
    }
    url = dsn.to_url(params)
    assert url == (
        "postgresql://app@[::1]:5432/shop?sslmode=verify-full"
        "&sslrootcert=/etc/ssl/root%20ca.crt&application_name=checkout%20api"
    )
    assert dsn.describe(url) == "app@[::1]:5432/shop"


def test_the_target_environment_keeps_the_dsn_options() -> None:
    params = dsn.validate(
        "host=db.example port=5432 user=app dbname=shop sslmode=require "
        "sslrootcert=/etc/ssl/root.crt application_name=checkout"
    )
    env = database_environment(params, (EnvTemplate.parse("ASYNC_URL={url+asyncpg}"),))
    assert make_url(env["DATABASE_URL"]).query == {
        "sslmode": "require",
        "sslrootcert": "/etc/ssl/root.crt",
        "application_name": "checkout",
    }
    assert env["ASYNC_URL"] == env["DATABASE_URL"].replace("postgresql://", "postgresql+asyncpg://")
    assert env["PGSSLMODE"] == "require"
    assert env["PGSSLROOTCERT"] == "/etc/ssl/root.crt"
    assert env["PGAPPNAME"] == "checkout"
