"""The load driver against a real uvicorn target (tests/integration/load_target_app.py).

Loads are small and bounded by request counts; nothing here asserts on speed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from leakbench._load.driver import LoadPlan, LoadProgress, run_load
from leakbench._load.limits import ensure_open_files
from leakbench._load.transport import LoadTransport
from leakbench._results import LoadStats
from leakbench._settings import Endpoint, LoadSettings, Target
from leakbench._targets.process import TargetProcess
from leakbench.errors import UsageError
from tests.integration.load_target_app import CHUNKS

pytestmark = pytest.mark.quick  # a real server, but well under a second per test

MANY_CONNECTIONS = 1000


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TargetProcess]:
    """One uvicorn process serving the test app, shared by the module's tests."""
    # Raised before the target starts, so that it inherits room for 1,000 connections.
    with contextlib.suppress(UsageError):  # the 1,000-connection test then skips itself
        ensure_open_files(MANY_CONNECTIONS)
    app = Target("load-target", "load_target_app:app", kind="app", app_dir=Path(__file__).parent)
    with TargetProcess(app, dict(os.environ), tmp_path_factory.mktemp("load-target")) as process:
        yield process


def load(
    target: TargetProcess,
    path: str,
    *,
    concurrency: int = 10,
    requests: int | None = 100,
    duration: float = 30.0,
    timeout: float = 10.0,
    rate: float | None = None,
    progress: LoadProgress | None = None,
) -> LoadStats:
    plan = LoadPlan(
        base_url=target.base_url,
        endpoint=Endpoint("POST", path),
        concurrency=concurrency,
        duration=duration,
        requests=requests,
        request_timeout=timeout,
        body=b'{"name": "test"}',
        rate=rate,
    )
    return run_load(plan, progress)


def read_count(target: TargetProcess) -> int:
    return int(httpx2.get(f"{target.base_url}/count/read", trust_env=False).text)


def test_statuses_are_counted_by_code(target: TargetProcess) -> None:
    created = load(target, "/status/201", requests=60)
    failing = load(target, "/status/503", requests=40)

    assert created.status_counts == ((201, 60),)
    assert created.exercised == 60
    assert created.server_errors == 0
    assert failing.status_counts == ((503, 40),)
    assert failing.server_errors == 40
    assert failing.errors == 0  # a 5xx is an answer, not a driver error


def test_a_request_budget_sends_exactly_that_many(target: TargetProcess) -> None:
    before = read_count(target)
    progress = LoadProgress()

    stats = load(target, "/count", concurrency=25, requests=333, progress=progress)

    assert read_count(target) - before == 333
    assert stats.sent == stats.completed == stats.responses == 333
    assert progress.sent == progress.completed == 333
    assert stats.latency.p50 > 0
    assert stats.latency.p50 <= stats.latency.p99 <= stats.latency.max


@pytest.mark.slow
def test_no_request_starts_after_the_deadline(target: TargetProcess) -> None:
    # Each request takes 1 s and the deadline is 0.2 s away: every worker sends
    # one request, which is still answered, and no second one.
    stats = load(target, "/slow", concurrency=5, requests=None, duration=0.2)

    assert stats.sent == 5
    assert stats.status_counts == ((200, 5),)
    assert stats.elapsed_seconds >= 0.2


def test_timeouts_are_counted(target: TargetProcess) -> None:
    stats = load(target, "/slow", concurrency=3, requests=6, timeout=0.1)

    assert stats.timeouts == 6
    assert stats.responses == 0
    assert stats.transport_errors == 0
    assert stats.completed == 6


def test_disconnects_are_counted_apart_and_the_driver_reconnects(target: TargetProcess) -> None:
    stats = load(target, "/drop", concurrency=2, requests=12)

    assert stats.disconnects >= 1
    assert stats.errors == 0
    # Answers keep coming after each disconnect: every reconnection is answered once.
    assert stats.responses >= stats.disconnects
    assert stats.responses + stats.disconnects == stats.sent == 12


def test_chunked_responses_are_read_whole_and_keep_the_connection(target: TargetProcess) -> None:
    async def fetch_twice() -> list[bytes]:
        transport = LoadTransport()
        async with httpx2.AsyncClient(transport=transport, base_url=target.base_url) as client:
            return [(await client.post("/chunked")).content for _ in range(2)]

    assert asyncio.run(fetch_twice()) == [b"".join(CHUNKS)] * 2
    stats = load(target, "/chunked", requests=50)
    assert stats.status_counts == ((200, 50),)


def test_a_refused_connection_is_a_transport_error(target: TargetProcess) -> None:
    stats = run_load(
        LoadPlan(
            base_url="http://127.0.0.1:9",  # discard port: nothing listens on loopback
            endpoint=Endpoint("POST", "/ok"),
            concurrency=2,
            duration=30.0,
            requests=4,
        )
    )

    assert stats.transport_errors == 4
    assert stats.responses == 0


def test_a_connection_never_accepted_times_out_as_a_timeout() -> None:
    # A listener that never accepts: once its accept queue is full, the kernel
    # drops new SYNs and a connect waits for ever; the connect timeout ends it.
    with socket.create_server(("127.0.0.1", 0), backlog=0) as listener:
        port = listener.getsockname()[1]
        fillers = [socket.socket() for _ in range(3)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        try:
            stats = run_load(
                LoadPlan(
                    base_url=f"http://127.0.0.1:{port}",
                    endpoint=Endpoint("GET", "/"),
                    concurrency=2,
                    duration=30.0,
                    requests=2,
                    request_timeout=0.5,
                )
            )
        finally:
            for filler in fillers:
                filler.close()

    assert (stats.timeouts, stats.transport_errors, stats.responses) == (2, 0, 0)
    assert 0.5 <= stats.elapsed_seconds < 5


def test_a_thousand_connections_run_without_driver_errors(target: TargetProcess) -> None:
    try:
        ensure_open_files(MANY_CONNECTIONS)
    except UsageError as exc:
        pytest.skip(str(exc))

    stats = load(target, "/status/200", concurrency=MANY_CONNECTIONS, requests=3000)

    assert stats.errors == 0
    assert stats.disconnects == 0
    assert stats.status_counts == ((200, 3000),)
    assert stats.concurrency == MANY_CONNECTIONS


@pytest.mark.slow
def test_open_loop_sends_the_budget_at_its_pace(target: TargetProcess) -> None:
    before = read_count(target)

    stats = load(target, "/count", concurrency=5, requests=40, rate=400.0)

    assert read_count(target) - before == 40
    assert stats.status_counts == ((200, 40),)


@pytest.mark.slow
def test_open_loop_latency_counts_from_when_a_request_was_due(target: TargetProcess) -> None:
    # Six 1 s requests due within 0.25 s over two connections: the last two can
    # only start after two seconds, so from when they were due they took over 2.5 s.
    # A closed loop would have reported about 1 s for each.
    stats = load(target, "/slow", concurrency=2, requests=6, rate=20.0)

    assert stats.status_counts == ((200, 6),)
    assert stats.latency.max >= 2500


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(UsageError, match="--rate 0 is out of range"):
        LoadSettings(rate=0)


@pytest.fixture
def tls_target(tmp_path: Path) -> Iterator[tuple[str, ssl.SSLContext]]:
    """The test app under uvicorn over TLS, with a self-signed certificate for 127.0.0.1."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed; it makes the test's certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    request = [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]
    request += ["-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1"]
    request += ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(request, check=True, capture_output=True)
    listener = socket.create_server(("127.0.0.1", 0))
    args = [sys.executable, "-m", "uvicorn", "load_target_app:app", "--fd", str(listener.fileno())]
    args += ["--app-dir", str(Path(__file__).parent), "--log-level", "warning"]
    args += ["--ssl-keyfile", str(key), "--ssl-certfile", str(cert)]
    server = subprocess.Popen(args, pass_fds=(listener.fileno(),))
    port = listener.getsockname()[1]
    listener.close()
    try:
        yield f"https://127.0.0.1:{port}", ssl.create_default_context(cafile=str(cert))
    finally:
        server.terminate()
        server.wait(10)


def test_https_is_spoken_and_verified(tls_target: tuple[str, ssl.SSLContext]) -> None:
    base_url, trusted = tls_target

    async def fetch(context: ssl.SSLContext | None) -> list[int]:
        transport = LoadTransport(ssl_context=context)
        async with httpx2.AsyncClient(transport=transport, base_url=base_url) as client:
            for _ in range(100):  # until uvicorn listens; bounded
                try:
                    return [(await client.post(path)).status_code for path in ("/chunked", "/x")]
                except httpx2.ConnectError:
                    if context is None:
                        raise
                    await asyncio.sleep(0.05)
        raise AssertionError("the TLS server never answered")

    assert asyncio.run(fetch(trusted)) == [200, 404]
    with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        asyncio.run(fetch(None))  # the system's CAs do not know the self-signed certificate
