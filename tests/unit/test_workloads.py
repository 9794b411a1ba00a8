"""Which rows a run makes from --endpoint and --mix, and what attach mode accepts."""

from __future__ import annotations

import pytest

from leakbench._settings import AttachTarget, Endpoint, RunConfig, Target, Workload
from leakbench._settings.requests import RequestSettings, Route
from leakbench.errors import UsageError

MIX = (Route("GET", "/items/", b"", weight=3), Route("POST", "/items/"))
SCENARIO = Target("s", "scenarios.x:app", default_endpoints=(Endpoint("POST", "/ok"),))


def test_a_mix_replaces_the_default_endpoints_and_follows_given_ones() -> None:
    mixed = RunConfig(targets=(SCENARIO,), requests=RequestSettings(mix=MIX))
    assert mixed.workloads_for(SCENARIO) == (Workload("mix (2 routes)", MIX),)
    both = RunConfig(
        targets=(SCENARIO,),
        endpoints=(Endpoint("GET", "/health"),),
        requests=RequestSettings(mix=MIX),
    )
    labels = [w.label for w in both.workloads_for(SCENARIO)]
    assert labels == ["GET /health", "mix (2 routes)"]
    plain = RunConfig(targets=(SCENARIO,))
    (row,) = plain.workloads_for(SCENARIO)
    assert row.label == "/ok" and not row.is_mix


def test_attach_mode_takes_a_mix_but_no_setup_command() -> None:
    attach = AttachTarget("http://127.0.0.1:8000")
    config = RunConfig(
        targets=(), attach=attach, dsn="postgresql://u@h/d", requests=RequestSettings(mix=MIX)
    )
    assert [w.label for w in config.workloads_for(None)] == ["mix (2 routes)"]
    with pytest.raises(UsageError, match="--setup-cmd has no effect with --url"):
        RunConfig(
            targets=(),
            attach=attach,
            dsn="postgresql://u@h/d",
            endpoints=(Endpoint("GET", "/x"),),
            setup_commands=("alembic upgrade head",),
        )


def test_paths_may_hold_placeholders_and_a_query() -> None:
    assert Endpoint.parse("DELETE /items/{uuid}?hard=1") == Endpoint(
        "DELETE", "/items/{uuid}?hard=1"
    )
