"""The seam between the runner and every kind of target.

A kind of target (:class:`Targets`) is what a run measures its rows on: one
leakbench starts (:mod:`leakbench._targets.spawned`), one the user started
(:mod:`leakbench._targets.attached`), or a database another tool's load
reaches (:mod:`leakbench._targets.watched`). It checks its inputs, opens the
server, and yields the rows to measure (:class:`PlannedRow`); each row opens
its :class:`TargetHandle` and its poller while it is measured. The one row
loop (:mod:`leakbench._runner.loop`) does the rest alike for every kind, so a
new kind is one module here.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import PurePath
from typing import Protocol

from leakbench._postgres.poller import ActivityPoller
from leakbench._postgres.server import Server
from leakbench._results import CheckoutSite, MadeEngines, PoolStats, Reclaims, RowResult
from leakbench._settings import LoadCommand, Workload
from leakbench._targets import autoload
from leakbench._targets.probes import ProbeClient


class TargetHandle(Protocol):
    """What a row needs of its target: a spawned process or an app the user started."""

    @property
    def base_url(self) -> str: ...

    def alive(self) -> bool: ...

    def exit_code(self) -> int | None: ...

    def log_tail(self, lines: int = 8) -> str: ...

    def pool_stats(self) -> PoolStats | None: ...

    def force_gc(self) -> bool: ...

    def mark_checkouts(self) -> None: ...

    def outstanding_checkouts(self) -> frozenset[str]: ...

    def checkout_sites(self) -> tuple[CheckoutSite, ...]: ...

    def checkout_fates(
        self,
    ) -> tuple[tuple[CheckoutSite, ...], tuple[CheckoutSite, ...]] | None: ...

    def reclaims(self) -> Reclaims | None: ...

    def made_engines(self) -> MadeEngines | None: ...

    def drivers(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class RowSpec:
    """One row: the target's name, what it sends, and the connection limits known for it."""

    name: str
    workload: Workload
    workers: int = 1
    # pool_size + max_overflow of one worker when leakbench set them (scenarios).
    per_worker_capacity: int | None = None
    max_connections: int | None = None
    # pool_size of one worker (what its pool keeps idle) when leakbench set it.
    per_worker_idle: int | None = None

    @property
    def pool_limit(self) -> int | None:
        """The most connections the target's pools may hold together, when known."""
        if self.per_worker_capacity is None:
            return None
        return self.workers * self.per_worker_capacity

    def idle_limit(self, pool: PoolStats | None) -> int | None:
        """The most connections the target's pools keep idle: the probe's figure, else ours."""
        per_worker = pool.idle_capacity if pool is not None else None
        if per_worker is None:
            per_worker = self.per_worker_idle
        return None if per_worker is None else self.workers * per_worker


# A row's target and the poller of its database, open while the row is measured.
OpenRow = AbstractContextManager[tuple[TargetHandle, ActivityPoller]]


@dataclass(frozen=True, slots=True)
class PlannedRow:
    """A row a kind of target will measure, and how to open its target for it."""

    spec: RowSpec
    # The table's endpoint column: the workload's label, or the load command's.
    label: str
    # What the live view announces as the row's length (None: the load decides).
    duration: float | None
    # Rows of one target share it: when the target cannot start, the rest are not attempted.
    target_index: int
    open: Callable[[], OpenRow]


def row_label(command: LoadCommand) -> str:
    """The table's endpoint column for a command's row: its program (the notes give it whole)."""
    return f"$ {PurePath(command.argv[0]).name}"


class Notices(Protocol):
    """What a kind of target tells while it prepares (a run's observer is one)."""

    def warning(self, text: str) -> None: ...

    def database_created(self, name: str) -> None: ...


class Targets(Protocol):
    """One kind of target: a run's server, its rows, and each row's target."""

    # What {url} in a load command stands for when it is checked (None: nothing may).
    command_url: str | None
    # Warnings kept with the result but not shown when the run starts.
    kept_warnings: tuple[str, ...]
    # Python's and the app's packages' versions as the app sees them; None: unknown (an app
    # leakbench did not start), so the report records leakbench's own.
    app_versions: Mapping[str, str] | None

    def check(self) -> list[str]:
        """Refuse bad input before anything starts; return the warnings to show."""
        ...

    def opened(self, notices: Notices) -> AbstractContextManager[Server]:
        """The server the rows are measured on, and whatever lives as long as the run."""
        ...

    def server_warnings(self, server: Server, notices: Notices) -> list[str]:
        """What about the opened server could hide a leak (shown and kept)."""
        ...

    def rows(self, server: Server, notices: Notices) -> Generator[PlannedRow | RowResult]:
        """The rows, in order; each is measured before the next is asked for.

        A kind that measures its rows itself (``--all-routes``: routes sharing one
        target) yields them finished, as :class:`RowResult`.
        """
        ...

    def hidden_reason(self, server: Server) -> str | None:
        """Why sessions hidden from the role could hide a leak now, or None if none can."""
        ...


class UnprobedApp:
    """An app leakbench did not start: no process to check, no log of it.

    Its pools are seen only when it runs under ``leakbench probe`` (its probes
    answer in the probe folder): then the pool view, the forced collection
    and the checkout sites are as for an app leakbench started.
    """

    base_url = ""
    _MODE = "attach"

    def __init__(self, probes: ProbeClient | None = None) -> None:
        self.probes = probes

    def alive(self) -> bool:
        return True

    def exit_code(self) -> int | None:
        return None

    def log_tail(self, lines: int = 8) -> str:
        del lines
        return f"leakbench has no log of an app it did not start ({self._MODE} mode)."

    def pool_stats(self) -> PoolStats | None:
        return self.probes.pool_stats() if self.probes else None

    def force_gc(self) -> bool:
        if self.probes is None:
            return False
        # Every probe that answers (a socket left by a process that is gone answers nothing).
        return self.probes.force_gc(len(self.probes.ask_all("stats")))

    def mark_checkouts(self) -> None:
        if self.probes:
            self.probes.mark_checkouts()

    def outstanding_checkouts(self) -> frozenset[str]:
        return self.probes.outstanding_checkouts() if self.probes else frozenset()

    def checkout_sites(self) -> tuple[CheckoutSite, ...]:
        return self.probes.checkout_sites() if self.probes else ()

    def checkout_fates(self) -> tuple[tuple[CheckoutSite, ...], tuple[CheckoutSite, ...]] | None:
        return self.probes.checkout_fates() if self.probes else None

    def reclaims(self) -> Reclaims | None:
        return self.probes.reclaims() if self.probes else None

    def made_engines(self) -> MadeEngines | None:
        return self.probes.made_engines() if self.probes else None

    def drivers(self) -> tuple[str, ...]:
        return self.probes.drivers() if self.probes else ()


def started_probes() -> ProbeClient | None:
    """The probes of apps run under ``leakbench probe`` that answer, if any do."""
    folder = autoload.probe_dir()
    if not folder.is_dir():
        return None
    client = ProbeClient(folder)
    return client if client.pool_stats() is not None else None
