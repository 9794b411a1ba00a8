"""Which requests' clients leave early, and when: ``--abort``, ``--stream-read``, ``--hold``.

Each route of a row gets a :class:`RouteLeaving` that draws, request by
request, a :class:`Leave` (or None for a client that reads the answer to
its end), which the worker hands to the transport. An ``--abort`` without WHEN leaves at a
random point within the route's observed latency: a latency drawn from the
route's recent answers, times a uniform fraction, so cancellations land in
every phase of the handler (the query, the commit, the return to the pool)
in proportion to how long each lasts. Until the route has been answered
once, nothing is known of its latency: its requests are then left within a
quarter of the request timeout, so that a row whose first requests are its
only ones (a short load on a slow route) still has clients that leave.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from leakbench._settings import defaults
from leakbench._settings.clients import ClientBehaviour, StreamLimit

# Recent answered latencies kept per route: enough to follow a drifting latency.
_RECENT = 64
# Before a route's first answer, requests are left within this share of the timeout.
_UNKNOWN_LATENCY_SHARE = 0.25


class ClientLeft(Exception):
    """The client left before the answer's end, as asked: its connection is closed.

    ``streaming`` is True when it left a streamed answer part way (the head
    had arrived), False when it abandoned the request before the answer.
    """

    def __init__(self, *, streaming: bool) -> None:
        super().__init__("The client left before the end of the answer, as asked.")
        self.streaming = streaming


@dataclass(frozen=True, slots=True)
class Leave:
    """When the client of one request leaves: seconds after sending, and how far into a stream."""

    abort_after: float | None = None
    stream: StreamLimit | None = None


class RouteLeaving:
    """One route's leaving clients: draws a Leave per request, learns the route's latency."""

    __slots__ = ("_abort", "_next", "_random", "_recent", "_stream", "_unknown")

    def __init__(
        self,
        behaviour: ClientBehaviour,
        rng: random.Random,
        request_timeout: float = defaults.REQUEST_TIMEOUT,
    ) -> None:
        self._abort = behaviour.abort
        self._unknown = request_timeout * _UNKNOWN_LATENCY_SHARE
        limit = behaviour.stream_limit
        self._stream = Leave(stream=limit) if limit is not None else None
        self._random = rng
        self._recent: list[float] = []
        self._next = 0

    def draw(self) -> Leave | None:
        """How the next request's client leaves: None to read the answer whole."""
        abort, rng = self._abort, self._random
        if abort is None or rng.random() >= abort.rate:
            return self._stream
        if abort.low is None or abort.high is None:
            latency = rng.choice(self._recent) if self._recent else self._unknown
            when = rng.random() * latency
        else:
            when = rng.uniform(abort.low, abort.high)
        return Leave(abort_after=when, stream=self._stream.stream if self._stream else None)

    def answered(self, seconds: float) -> None:
        """A request of this route was answered after ``seconds``."""
        if len(self._recent) < _RECENT:
            self._recent.append(seconds)
        else:
            self._recent[self._next] = seconds
            self._next = (self._next + 1) % _RECENT


def leaving_for(
    row: ClientBehaviour,
    routes: tuple[ClientBehaviour | None, ...],
    request_timeout: float = defaults.REQUEST_TIMEOUT,
    seed: int | None = None,
) -> list[RouteLeaving] | None:
    """One RouteLeaving per route, or None when every client reads every answer whole."""
    behaviours = [route.over(row) if route is not None else row for route in routes]
    if all(behaviour.perfect for behaviour in behaviours):
        return None
    rng = random.Random(seed)  # noqa: S311 - load shaping, not cryptography
    return [RouteLeaving(behaviour, rng, request_timeout) for behaviour in behaviours]
