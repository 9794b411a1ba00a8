"""DSN parsing and redaction, including property-based checks that no password leaks."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from leakbench._settings import dsn
from leakbench.errors import UsageError

passwords = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="'\\"),
    min_size=4,
    max_size=24,
)


@given(password=passwords)
def test_a_url_password_is_always_redacted(password: str) -> None:
    url = f"postgresql://alice:{quote(password, safe='')}@db.example:5432/app"
    assume(quote(password, safe="") not in url.replace(quote(password, safe=""), "", 1))
    shown = dsn.redact(url)
    assert quote(password, safe="") not in shown
    assert shown == "postgresql://alice:***@db.example:5432/app"


@given(password=passwords)
def test_a_key_value_password_is_always_redacted(password: str) -> None:
    template = "host=h user=u password='{}' dbname=d"
    assume(password not in template)  # a "password" like 'user' is in the text anyway
    shown = dsn.redact(template.format(password))
    assert password not in shown
    assert "password=***" in shown


@given(password=passwords)
def test_to_url_round_trips_through_libpq(password: str) -> None:
    params = {"host": "127.0.0.1", "port": "5432", "user": "u", "password": password, "dbname": "d"}
    assert dsn.validate(dsn.to_url(params)) == params


def test_to_url_puts_a_socket_directory_in_the_query() -> None:
    url = dsn.to_url({"host": "/run/pg-socket", "user": "postgres", "dbname": "x"})
    assert url == "postgresql://postgres@/x?host=/run/pg-socket"
    assert dsn.validate(url)["host"] == "/run/pg-socket"


def test_with_database_keeps_everything_but_the_name() -> None:
    changed = dsn.validate(dsn.with_database("postgresql://u:p@h:6000/one", "two"))
    assert changed == {"user": "u", "password": "p", "host": "h", "port": "6000", "dbname": "two"}


@pytest.mark.parametrize(
    "bad", ["", "   ", "mysql://h/db", "host=h port=x", "postgresql://h:99x/db"]
)
def test_malformed_dsns_are_usage_errors(bad: str) -> None:
    with pytest.raises(UsageError):
        dsn.validate(bad)


def test_describe_is_password_free() -> None:
    assert dsn.describe("postgresql://u:secret@h:5/db") == "u@h:5/db"
