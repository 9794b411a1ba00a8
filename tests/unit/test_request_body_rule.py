"""Which body a row's requests carry, from the method and --body."""

from __future__ import annotations

import pytest

from leakbench._settings import DEFAULT_BODY, Endpoint, LoadSettings


@pytest.mark.parametrize(
    ("method", "expected"),
    [
        ("GET", b""),
        ("HEAD", b""),
        ("DELETE", b""),
        ("OPTIONS", b""),
        ("POST", DEFAULT_BODY),
        ("PUT", DEFAULT_BODY),
        ("PATCH", DEFAULT_BODY),
    ],
)
def test_the_default_body_goes_only_with_body_methods(method: str, expected: bytes) -> None:
    assert LoadSettings().body_for(Endpoint(method, "/x")) == expected


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_a_given_body_is_sent_with_every_method(method: str) -> None:
    assert LoadSettings(body=b"[]").body_for(Endpoint(method, "/x")) == b"[]"


def test_an_empty_body_given_means_none_even_for_post() -> None:
    assert LoadSettings(body=b"").body_for(Endpoint("POST", "/x")) == b""
