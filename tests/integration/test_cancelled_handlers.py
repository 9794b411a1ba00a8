"""Who cancels a handler whose client left: not uvicorn, not Starlette's BaseHTTPMiddleware
(1.x), but the scenarios' CancelOnDisconnect, and only for a client that left before the end.

The claim the ``cancelled-*`` scenarios rest on (docs/leaks.md): a Starlette upgrade that
cancels handlers again, or a middleware that cancels finished requests, fails here by name.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from leakbench._load.driver import LoadPlan, run_load
from leakbench._results import LoadStats
from leakbench._settings import Endpoint, Target
from leakbench._settings.clients import AbortSpec, ClientBehaviour
from leakbench._targets.process import TargetProcess

pytestmark = pytest.mark.quick  # real servers, a few seconds in all

REQUESTS = 20


@pytest.fixture(scope="module", params=["plain", "cancelling"])
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TargetProcess]:
    app = Target(
        request.param,
        f"cancel_target_app:{request.param}",
        kind="app",
        app_dir=Path(__file__).parent,
    )
    with TargetProcess(app, dict(os.environ), tmp_path_factory.mktemp(request.param)) as process:
        yield process


def load(target: TargetProcess, client: ClientBehaviour) -> LoadStats:
    plan = LoadPlan(
        base_url=target.base_url,
        endpoint=Endpoint("POST", "/work"),
        concurrency=10,
        duration=20.0,
        requests=REQUESTS,
        request_timeout=5.0,
        client=client,
    )
    return run_load(plan)


def counts(target: TargetProcess) -> dict[str, int]:
    answer: dict[str, int] = httpx2.get(f"{target.base_url}/counts", trust_env=False).json()
    return answer


def settled_counts(target: TargetProcess, before: dict[str, int]) -> dict[str, int]:
    """The row's counts once every handler has ended (they outlive a client that left)."""
    for _ in range(100):
        now = {key: value - before[key] for key, value in counts(target).items()}
        if sum(now.values()) >= REQUESTS:
            return now
        time.sleep(0.05)
    return now


def test_handlers_of_clients_that_left_are_cancelled_only_by_cancel_on_disconnect(
    target: TargetProcess,
) -> None:
    before = counts(target)
    stats = load(target, ClientBehaviour(abort=AbortSpec.parse("100%@50ms")))

    assert stats.aborted == REQUESTS
    ended = settled_counts(target, before)
    if target.target.name == "plain":
        # Starlette 1.x cancels nothing behind BaseHTTPMiddleware: each handler ran on.
        assert ended == {"finished": REQUESTS, "cancelled": 0}
    else:
        assert ended == {"finished": 0, "cancelled": REQUESTS}


def test_handlers_whose_client_reads_the_answer_are_never_cancelled(
    target: TargetProcess,
) -> None:
    before = counts(target)
    stats = load(target, ClientBehaviour())

    assert stats.status_counts == ((200, REQUESTS),)
    assert settled_counts(target, before) == {"finished": REQUESTS, "cancelled": 0}
