"""The one redaction path: patterns, remembered secrets and their escaped forms."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from leakbench import _redaction as redaction
from leakbench._settings.dsn import validate
from leakbench.errors import UsageError

SECRET = 'pa"ss w<rd>/@x'


@pytest.fixture(autouse=True)
def _fresh() -> Iterator[None]:
    redaction.forget_all()
    yield
    redaction.forget_all()


def test_a_remembered_secret_is_masked_in_every_escaped_form() -> None:
    redaction.remember(SECRET)
    for form in (SECRET, quote(SECRET, safe=""), json.dumps(SECRET)[1:-1], html.escape(SECRET)):
        assert redaction.redact(f"before {form} after") == "before *** after"


def test_json_data_is_redacted_before_it_is_serialised() -> None:
    redaction.remember("123456789")
    data = {"error": "password 123456789 shown", "count": 123456789, "rows": ["x 123456789"]}
    assert redaction.redact_data(data) == {
        "error": "password *** shown",
        "count": 123456789,  # a number stays a number: JSON stays valid
        "rows": ["x ***"],
    }


def test_short_values_are_left_to_the_patterns() -> None:
    redaction.remember("12345")
    assert redaction.redact("port 12345") == "port 12345"
    assert redaction.redact("postgresql://u:12345@h/db") == "postgresql://u:***@h/db"


def test_a_password_with_an_at_sign_is_masked_to_its_last_at() -> None:
    assert redaction.redact("postgresql://u:p@ss@host/db") == "postgresql://u:***@host/db"


def test_a_parsed_dsn_remembers_its_password() -> None:
    validate("host=h user=u password=Hunter2-long dbname=d")
    assert redaction.redact("the app said Hunter2-long") == "the app said ***"


def test_an_unparsable_dsn_remembers_the_pieces_of_its_password() -> None:
    with pytest.raises(UsageError) as refused:
        validate("postgresql://u:open sesame-W0rd@h:5/db")
    assert "sesame" not in str(refused.value)
    assert redaction.redact("open sesame-W0rd") == "***"
