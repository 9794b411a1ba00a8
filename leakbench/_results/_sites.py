"""Where in the app's code connections were taken, and the leaks the probe saw as they happened."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CheckoutSite:
    """Where the app's own code took ``count`` connections that were never returned."""

    file: str
    line: int
    function: str
    count: int

    @property
    def place(self) -> str:
        return f"{self.file}:{self.line} in {self.function}"


@dataclass(frozen=True, slots=True)
class Reclaims:
    """Checkouts of the row that the garbage collector ended: their holder (a Session, a
    Connection) was dropped without being closed, and only the collector gave them back.

    ``first_seconds``/``last_seconds``: when the first and the last were reclaimed,
    counted from the start of the row's load.
    """

    count: int
    first_seconds: float | None = None
    last_seconds: float | None = None
    sites: tuple[CheckoutSite, ...] = ()


@dataclass(frozen=True, slots=True)
class EngineSite:
    """A line of the app that made ``pools`` engines during the row, still holding connections."""

    file: str
    line: int
    function: str
    pools: int
    connections: int

    @property
    def place(self) -> str:
        return f"{self.file}:{self.line} in {self.function}"


@dataclass(frozen=True, slots=True)
class MadeEngines:
    """The pools (one per engine) the target made during the row, as its probes saw them
    after the settle: ``holding`` of them still held ``connections`` connections open."""

    made: int
    alive: int
    holding: int
    connections: int
    # How many processes answered (a long-lived engine is made once per process).
    processes: int = 1
    sites: tuple[EngineSite, ...] = ()
    # When the last of them was made, from the start of the load; None when unknown.
    last_made_seconds: float | None = None
