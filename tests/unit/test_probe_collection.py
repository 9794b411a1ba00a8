"""The probe's forced collection runs on the app's event loop, where the finalizers of an
asyncio driver's connections may touch the loop, and answers an error when that loop is
blocked. A real loop in a real thread; the finalizer of a real reference cycle tells
which thread ran the collection."""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import socket
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from leakbench._targets import probe
from leakbench._targets.probe import AppLoops, collect
from leakbench._targets.probes import ProbeClient


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def _dropped_cycle(ran_in: list[str]) -> None:
    """A reference cycle only the cyclic collector frees; its finalizer records the thread."""
    cycle = _Cycle()
    weakref.finalize(cycle, lambda: ran_in.append(threading.current_thread().name))


@pytest.fixture
def app_loop() -> Iterator[tuple[asyncio.AbstractEventLoop, AppLoops]]:
    """An event loop running in a thread of its own, noted as a pool connect would note it."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="app-loop", daemon=True)
    thread.start()
    loops = AppLoops()
    asyncio.run_coroutine_threadsafe(_note(loops), loop).result(5)
    yield loop, loops
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


async def _note(loops: AppLoops) -> None:
    loops.note()  # what the pool "connect" listener does, on the loop that connects


def test_the_collection_runs_on_the_app_s_event_loop(
    app_loop: tuple[asyncio.AbstractEventLoop, AppLoops],
) -> None:
    _loop, loops = app_loop
    ran_in: list[str] = []
    gc.collect()
    _dropped_cycle(ran_in)
    answer = collect(loops)
    assert answer["thread"] == "app-loop"
    assert isinstance(answer["collected"], int) and answer["collected"] >= 1
    assert ran_in == ["app-loop"]


def test_without_a_loop_the_collection_runs_in_the_probe_s_thread() -> None:
    loops = AppLoops()
    loops.note()  # no loop runs in this thread: nothing is noted
    ran_in: list[str] = []
    _dropped_cycle(ran_in)
    answer = collect(loops)
    assert answer["thread"] == threading.current_thread().name
    assert ran_in == [threading.current_thread().name]


def test_a_loop_that_stopped_is_not_waited_for(
    app_loop: tuple[asyncio.AbstractEventLoop, AppLoops],
) -> None:
    loop, loops = app_loop
    loop.call_soon_threadsafe(loop.stop)
    deadline = time.monotonic() + 5
    while loop.is_running() and time.monotonic() < deadline:
        time.sleep(0.01)
    answer = collect(loops, within=5.0)
    assert answer["thread"] == threading.current_thread().name


def test_a_blocked_loop_answers_an_error_not_a_count(
    app_loop: tuple[asyncio.AbstractEventLoop, AppLoops],
) -> None:
    loop, loops = app_loop
    release = threading.Event()
    loop.call_soon_threadsafe(release.wait, 5.0)  # a handler blocking the loop
    try:
        answer = collect(loops, within=0.2)
    finally:
        release.set()
    assert "collected" not in answer
    assert "did not run the collection within 0.2 s" in answer["error"]


def test_force_gc_counts_only_probes_that_collected(
    monkeypatch: pytest.MonkeyPatch, app_loop: tuple[asyncio.AbstractEventLoop, AppLoops]
) -> None:
    # A real probe server on a Unix socket; then its app's loop blocked past the wait.
    loop, loops = app_loop
    within = [5.0]  # a full collection of a big test process takes its time
    monkeypatch.setitem(probe._COMMANDS, "gc", lambda: collect(loops, within=within[0]))
    # Short: a Unix socket's path is limited to about 100 bytes.
    folder = Path(tempfile.mkdtemp(prefix="lbp-"))
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(folder / f"ctl-{os.getpid()}.sock"))
    server.listen(4)
    thread = threading.Thread(target=probe._serve, args=(server,), daemon=True)
    thread.start()
    client = ProbeClient(folder)
    try:
        assert client.force_gc(1)
        within[0] = 0.2
        release = threading.Event()
        loop.call_soon_threadsafe(release.wait, 5.0)
        try:
            assert not client.force_gc(1)
        finally:
            release.set()
    finally:
        server.close()
        shutil.rmtree(folder, ignore_errors=True)
