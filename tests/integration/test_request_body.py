"""GET, HEAD, DELETE and OPTIONS carry no body unless --body asks; POST, PUT, PATCH carry one."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakbench._load.driver import LoadPlan, run_load
from leakbench._settings import Endpoint, LoadSettings, Target
from leakbench._targets.process import TargetProcess

_REQUESTS = 5


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetProcess]:
    app = Target("body-check", "body_check_app:app", kind="app", app_dir=Path(__file__).parent)
    with TargetProcess(app, dict(os.environ), tmp_path_factory.mktemp("body-check")) as process:
        yield process


def _statuses(target: TargetProcess, settings: LoadSettings, endpoint: Endpoint) -> dict[int, int]:
    """Drive ``endpoint`` the way a row does (the body from the settings) and count statuses."""
    plan = LoadPlan(
        base_url=target.base_url,
        endpoint=endpoint,
        concurrency=2,
        duration=10.0,
        requests=_REQUESTS,
        body=settings.body_for(endpoint),
    )
    return dict(run_load(plan).status_counts)


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE", "OPTIONS"])
def test_bodiless_methods_send_no_body_by_default(target: TargetProcess, method: str) -> None:
    endpoint = Endpoint(method, "/expect-empty")
    assert _statuses(target, LoadSettings(requests=_REQUESTS), endpoint) == {200: _REQUESTS}


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_body_methods_send_the_default_json(target: TargetProcess, method: str) -> None:
    endpoint = Endpoint(method, "/expect-json")
    assert _statuses(target, LoadSettings(requests=_REQUESTS), endpoint) == {200: _REQUESTS}


def test_a_body_given_is_sent_whatever_the_method(target: TargetProcess) -> None:
    settings = LoadSettings(requests=_REQUESTS, body=b'{"query": "all"}')
    assert _statuses(target, settings, Endpoint("GET", "/expect-json")) == {200: _REQUESTS}
    assert _statuses(target, settings, Endpoint("DELETE", "/expect-json")) == {200: _REQUESTS}
