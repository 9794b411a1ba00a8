"""Endpoint parsing (property-based) and the validation of run settings."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leakbench._settings import HTTP_METHODS, Endpoint, LoadSettings, RunConfig, Target
from leakbench.errors import UsageError

segments = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
paths = st.lists(segments, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))


@given(method=st.sampled_from(HTTP_METHODS), path=paths)
def test_method_and_path_parse_back(method: str, path: str) -> None:
    endpoint = Endpoint.parse(f"{method.lower()}  {path}")
    assert endpoint == Endpoint(method, path)


@given(path=paths)
def test_a_bare_path_or_name_means_post(path: str) -> None:
    assert Endpoint.parse(path) == Endpoint("POST", path)
    assert Endpoint.parse(path.lstrip("/")) == Endpoint("POST", path)


@given(text=st.text(max_size=30))
def test_parsing_never_fails_with_anything_but_a_usage_error(text: str) -> None:
    try:
        endpoint = Endpoint.parse(text)
    except UsageError as exc:
        assert "--endpoint" in str(exc)
    else:
        assert endpoint.path.startswith("/")
        assert endpoint.method in HTTP_METHODS


def test_labels_follow_the_pull_requests_table() -> None:
    assert Endpoint.parse("ok").label == "/ok"
    assert Endpoint.parse("GET /items").label == "GET /items"


def test_a_load_needs_a_bound() -> None:
    with pytest.raises(UsageError, match="--duration SECONDS or --requests N"):
        LoadSettings(duration=None, requests=None)


def test_a_run_needs_a_target() -> None:
    with pytest.raises(UsageError, match="No target"):
        RunConfig(targets=())


def test_a_target_without_endpoints_needs_one_given() -> None:
    # Checked when the config is built, before any server or target starts.
    with pytest.raises(UsageError, match="No endpoint to load on 'x'"):
        RunConfig(targets=(Target("x", "m:app", kind="app"),))
