"""A fake target and a fake poller: a row's phases and the row loop without a server.

The fake poller records a sample at each look, as the real one does at each
tick, its counts given by ``state`` (a function of the phase), so a test
scripts what PostgreSQL shows; the fake target scripts what its pool shows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field

from leakbench._postgres.admin import ServerInfo
from leakbench._postgres.server import Server
from leakbench._results import (
    ActivitySample,
    CheckoutSite,
    MadeEngines,
    Phase,
    PoolStats,
    Reclaims,
    SessionEnds,
)
from leakbench._settings import Endpoint, Workload
from leakbench._targets.handle import Notices, PlannedRow, RowSpec, TargetHandle
from leakbench.errors import TargetStartError

State = Callable[[Phase], dict[str, int]]


def quiet(_: Phase) -> dict[str, int]:
    return {"idle": 1}


class FakePoller:
    """pg_stat_activity as ``state`` says, looked at whenever the row asks."""

    def __init__(self, state: State = quiet, *, readable: bool = True) -> None:
        self.state = state
        self.readable = readable
        self.interval = 0.005
        self.phase = Phase.BASELINE
        self.gaps = 0
        self.transactions_count = 10
        self.sessions_count = 3
        self.ends = SessionEnds(fatal=0, killed=0, abandoned=0)
        self.started_at = "2026-12-02T00:00:00"
        self._samples: list[ActivitySample] = []
        self._clock = time.monotonic()

    def restart_clock(self) -> None:
        self._clock = time.monotonic()
        self._samples.clear()

    def elapsed(self) -> float:
        return time.monotonic() - self._clock

    def _look(self, phase: Phase) -> ActivitySample:
        sample = ActivitySample(t=time.monotonic() - self._clock, phase=phase, **self.state(phase))
        self._samples.append(sample)
        return sample

    def samples(self) -> tuple[ActivitySample, ...]:
        if self.phase in (Phase.LOAD, Phase.SETTLE):
            self._look(self.phase)  # the real poller's thread samples meanwhile
        return tuple(self._samples)

    def latest(self) -> ActivitySample | None:
        return self._samples[-1] if self._samples else None

    def snapshot(self, phase: Phase) -> ActivitySample | None:
        if not self.readable and phase is not Phase.BASELINE:
            return None
        return self._look(phase)

    def session_ends(self) -> SessionEnds | None:
        return self.ends

    def server_started_at(self) -> str | None:
        return self.started_at

    def transactions(self) -> int | None:
        return self.transactions_count

    def sessions(self) -> int | None:
        return self.sessions_count

    def server_now(self) -> str | None:
        return "2026-12-02T00:00:01"

    def ran_since(self, since: str) -> int | None:
        del since
        return 2


@dataclass
class FakeTarget:
    """A target whose pool is ``pools`` in turn (the last one stays); None: no probe."""

    pools: list[PoolStats | None] = field(default_factory=lambda: [None])
    # What a forced collection leaves: the pool after it, or None when none answers.
    after_gc: PoolStats | None = None
    up: bool = True
    marked: int = 0
    collected: int = 0
    base_url: str = "http://127.0.0.1:1"
    held: frozenset[str] = frozenset()
    # The checkouts the garbage collector ended during the row, as the probe reports them.
    reclaimed: Reclaims | None = None

    def alive(self) -> bool:
        return self.up

    def exit_code(self) -> int | None:
        return None if self.up else 1

    def log_tail(self, lines: int = 8) -> str:
        del lines
        return "(fake log)"

    def pool_stats(self) -> PoolStats | None:
        return self.pools.pop(0) if len(self.pools) > 1 else self.pools[0]

    def force_gc(self) -> bool:
        if self.after_gc is None:
            return False
        self.collected += 1
        self.pools = [self.after_gc]
        return True

    def mark_checkouts(self) -> None:
        self.marked += 1

    def outstanding_checkouts(self) -> frozenset[str]:
        return self.held

    def checkout_sites(self) -> tuple[CheckoutSite, ...]:
        return ()

    def checkout_fates(self) -> tuple[tuple[CheckoutSite, ...], tuple[CheckoutSite, ...]] | None:
        return None

    def reclaims(self) -> Reclaims | None:
        return self.reclaimed

    def made_engines(self) -> MadeEngines | None:
        return None

    def drivers(self) -> tuple[str, ...]:
        return ()


@dataclass
class FakeTargets:
    """A kind of target for the row loop: each row on its own fake target and poller."""

    rows_of: list[tuple[str, str, int]]
    make_target: Callable[[str], TargetHandle] = lambda _name: FakeTarget()
    make_poller: Callable[[str], FakePoller] = lambda _name: FakePoller()
    hidden: str | None = None
    fail_start: frozenset[str] = frozenset()
    command_url: str | None = None
    kept_warnings: tuple[str, ...] = ("kept",)
    app_versions: dict[str, str] | None = None
    opened_rows: list[str] = field(default_factory=list)

    def check(self) -> list[str]:
        return ["checked"]

    def opened(self, notices: Notices) -> AbstractContextManager[Server]:
        del notices

        @contextmanager
        def server() -> Iterator[Server]:
            yield _server()

        return server()

    def server_warnings(self, server: Server, notices: Notices) -> list[str]:
        del server, notices
        return []

    def rows(self, server: Server, notices: Notices) -> Iterator[PlannedRow]:
        del server, notices
        for name, path, index in self.rows_of:
            yield PlannedRow(
                spec=RowSpec(name=name, workload=Workload.single(Endpoint("GET", path))),
                label=f"GET {path}",
                duration=0.0,
                target_index=index,
                open=lambda name=name, path=path: self._open(name, path),  # type: ignore[misc]
            )

    def _open(
        self, name: str, path: str
    ) -> AbstractContextManager[tuple[TargetHandle, FakePoller]]:
        @contextmanager
        def row() -> Iterator[tuple[TargetHandle, FakePoller]]:
            self.opened_rows.append(f"{name} {path}")
            if name in self.fail_start:
                raise TargetStartError(f"{name} did not start.")
            yield self.make_target(name), self.make_poller(name)

        return row()

    def hidden_reason(self, server: Server) -> str | None:
        del server
        return self.hidden


def _server() -> Server:
    return Server(
        admin_dsn="postgresql://u@127.0.0.1:1/postgres",
        description="fake",
        embedded=False,
        info=ServerInfo(
            version="17.0",
            version_num=170000,
            max_connections=100,
            idle_in_transaction_session_timeout="0",
        ),
    )
