"""How the load's clients behave besides asking: leaving early, reading streams part way, holding.

Production leaks come from clients that leave: a browser tab closed, a
proxy's timeout, a mobile client gone out of range. Starlette then sees
``http.disconnect`` and cancels the request's work at whatever ``await``
it was in. leakbench's driver is otherwise a perfect client that reads
every answer to its end; these values tell it not to be.

- ``--abort RATE[@WHEN]``: that share of requests is abandoned, its
  connection closed, before the answer. WHEN is a time after sending
  (``30ms``), a range drawn from uniformly (``0-200ms``), or, by default, a
  random point within the route's observed latency, so cancellations land
  in every phase of the handler.
- ``--stream-read BYTES|SECONDS``: a streamed answer (chunked, or read until
  the connection closes, such as ``text/event-stream``) is read that far and
  left (``4096``, ``64KB``, ``2s``). By default a stream is read to its end.
- ``--hold SECONDS``: a streamed answer is kept open that long, then left:
  many concurrent SSE clients.

Pure, validated values; :mod:`leakbench._load` acts on them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from leakbench._settings import defaults
from leakbench.errors import UsageError

_RATE = re.compile(r"^(\d+(?:\.\d+)?)%$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)$")
_SIZE = re.compile(r"^(\d+)(b|kb|mb)?$")
_SIZE_UNITS = {None: 1, "b": 1, "kb": 1024, "mb": 1024 * 1024}
# The longest a WHEN or a stream limit may be: beyond that, it is a request timeout.
MAX_SECONDS = 3600.0


def parse_duration(text: str, option: str) -> float:
    """``30ms`` or ``1.5s`` in seconds; a bare number is refused (its unit would be a guess)."""
    match = _DURATION.match(text.strip().lower())
    if match is None:
        raise UsageError(
            f"{option} {text!r} is not a duration; give it with its unit, such as 30ms or 2s."
        )
    value = float(match.group(1)) / (1000 if match.group(2) == "ms" else 1)
    if value > MAX_SECONDS:
        raise UsageError(f"{option} {text!r} is too long; give at most {MAX_SECONDS:g}s.")
    return value


def _millis(seconds: float) -> str:
    return f"{seconds * 1000:g}ms"


@dataclass(frozen=True, slots=True)
class AbortSpec:
    """``--abort``: a share of requests left before their answer, and when.

    ``low`` and ``high`` bound the seconds after sending; None for both: a
    random point within the route's observed latency.
    """

    rate: float
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        if not 0 < self.rate <= 1:
            raise UsageError(
                f"--abort {self.label!r}: the share must be above 0% and at most 100%."
            )
        if (self.low is None) != (self.high is None) or (
            self.low is not None and self.high is not None and self.low > self.high
        ):
            raise UsageError(f"--abort {self.label!r}: give WHEN as 30ms or as a range 0-200ms.")

    @classmethod
    def parse(cls, text: str, option: str = "--abort") -> AbortSpec:
        """``20%``, ``50%@30ms`` or ``10%@0-200ms``."""
        share, at, when = text.strip().partition("@")
        rate_match = _RATE.match(share.strip())
        if rate_match is None:
            raise UsageError(
                f"{option} {text!r} is malformed; write RATE[@WHEN] such as 20%, 50%@30ms "
                "or 10%@0-200ms."
            )
        rate = float(rate_match.group(1)) / 100
        if not 0 < rate <= 1:
            raise UsageError(f"{option} {text!r}: the share must be above 0% and at most 100%.")
        if not at:
            return cls(rate)
        first, dash, last = when.partition("-")
        if dash:
            # "0-200ms": the unit of the range's end applies to a bare start.
            unit = _DURATION.match(last.strip().lower())
            start = first.strip()
            if unit is not None and re.fullmatch(r"\d+(?:\.\d+)?", start):
                start += unit.group(2)
            low, high = parse_duration(start, option), parse_duration(last, option)
            if low > high:
                raise UsageError(f"{option} {text!r}: the range's start is after its end.")
            return cls(rate, low, high)
        at_seconds = parse_duration(when, option)
        return cls(rate, at_seconds, at_seconds)

    @property
    def label(self) -> str:
        share = f"{self.rate * 100:g}%"
        if self.low is None or self.high is None:
            return share
        if self.low == self.high:
            return f"{share}@{_millis(self.low)}"
        return f"{share}@{self.low * 1000:g}-{_millis(self.high)}"


@dataclass(frozen=True, slots=True)
class StreamLimit:
    """How far a streamed answer is read before the client leaves: bytes, or seconds."""

    max_bytes: int | None = None
    seconds: float | None = None

    def __post_init__(self) -> None:
        if (self.max_bytes is None) == (self.seconds is None):
            raise UsageError(
                "--stream-read takes a size (4096, 64KB) or a duration (2s), not both."
            )

    @classmethod
    def parse(cls, text: str, option: str = "--stream-read") -> StreamLimit:
        """``4096``, ``64KB``, ``1MB`` (bytes of the body) or ``500ms``, ``2s`` (after the head)."""
        raw = text.strip().lower()
        size = _SIZE.match(raw)
        if size is not None:
            count = int(size.group(1)) * _SIZE_UNITS[size.group(2)]
            if count < 1:
                raise UsageError(f"{option} {text!r}: read at least one byte.")
            return cls(max_bytes=count)
        if _DURATION.match(raw) is None:
            raise UsageError(
                f"{option} {text!r} is malformed; give bytes (4096, 64KB) or a duration "
                "(500ms, 2s)."
            )
        return cls(seconds=parse_duration(raw, option))

    @property
    def label(self) -> str:
        return f"{self.max_bytes} bytes" if self.max_bytes is not None else f"{self.seconds:g}s"


@dataclass(frozen=True, slots=True)
class ClientBehaviour:
    """The row's clients (or one mix route's): None where they behave as a perfect client."""

    abort: AbortSpec | None = None
    stream_read: StreamLimit | None = None
    # Seconds a streamed answer is kept open before the client leaves it.
    hold: float | None = None

    def __post_init__(self) -> None:
        if self.stream_read is not None and self.hold is not None:
            raise UsageError(
                "--stream-read and --hold both say when to leave a stream; give one of them."
            )
        if self.hold is not None and not 0 < self.hold <= MAX_SECONDS:
            raise UsageError(
                f"--hold {self.hold:g} is out of range; give more than 0 and at most "
                f"{MAX_SECONDS:g} seconds."
            )

    @classmethod
    def parse(
        cls, *, abort: str | None = None, stream_read: str | None = None, hold: float | None = None
    ) -> ClientBehaviour:
        return cls(
            abort=AbortSpec.parse(abort) if abort else None,
            stream_read=StreamLimit.parse(stream_read) if stream_read else None,
            hold=hold,
        )

    @property
    def perfect(self) -> bool:
        """The default client: it reads every answer to its end."""
        return self.abort is None and self.stream_read is None and self.hold is None

    @property
    def stream_limit(self) -> StreamLimit | None:
        """When a stream is left, whether by --stream-read or by --hold."""
        if self.hold is not None:
            return StreamLimit(seconds=self.hold)
        return self.stream_read

    def over(self, row: ClientBehaviour) -> ClientBehaviour:
        """This route's behaviour, the row's where the route says nothing."""
        stream_read, hold = self.stream_read, self.hold
        if stream_read is None and hold is None:
            stream_read, hold = row.stream_read, row.hold
        return ClientBehaviour(self.abort or row.abort, stream_read, hold)

    def check_timeout(self, request_timeout: float) -> None:
        """A held or part-read stream must end before the request times out."""
        limit = self.stream_limit
        if limit is not None and limit.seconds is not None and limit.seconds >= request_timeout:
            option = "--hold" if self.hold is not None else "--stream-read"
            raise UsageError(
                f"{option} {limit.seconds:g}s is not below --request-timeout "
                f"{request_timeout:g}; raise --request-timeout, or every stream times out."
            )

    def describe(self) -> str:
        """``abort 20%, hold 30s``, for the settings line of reports."""
        parts = []
        if self.abort is not None:
            parts.append(f"abort {self.abort.label}")
        if self.stream_read is not None:
            parts.append(f"stream-read {self.stream_read.label}")
        if self.hold is not None:
            parts.append(f"hold {self.hold:g}s")
        return ", ".join(parts) or "full reads"


# The default client: it reads every answer to its end.
PERFECT_CLIENT = ClientBehaviour()

# Most messages a WebSocket client waits for before it closes or drops.
MAX_WS_RECEIVE = 10_000


@dataclass(frozen=True, slots=True)
class WebSocketSpec:
    """A ``WS /path`` route's session: send a message, receive some, close cleanly or drop.

    ``drop`` closes the TCP connection with no close frame, as a client gone
    out of range does: the app's ``receive`` raises ``WebSocketDisconnect``
    (code 1005 or 1006, by server) wherever it waits.
    """

    message: str = defaults.WS_SEND
    receive: int = defaults.WS_RECEIVE
    drop: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.receive <= MAX_WS_RECEIVE:
            raise UsageError(
                f"--ws-receive {self.receive} is out of range; give 0 to {MAX_WS_RECEIVE}."
            )

    def describe(self) -> str:
        end = "drop" if self.drop else "close"
        return f"websocket: send {self.message[:20]!r}, receive {self.receive}, {end}"


DEFAULT_WEBSOCKET = WebSocketSpec()
