"""A minimal, sans-I/O HTTP/1.1 response reader (and request encoder) for the load transport.

It understands what a keep-alive client must: Content-Length bodies,
chunked bodies (with extensions and trailers), bodies delimited by the
connection closing, bodiless responses (HEAD, 1xx, 204, 304) and
``Connection: close``. It buffers whole bodies, which suits a load driver
whose responses are small; a size cap turns a runaway body into an error.
A stream the client may leave part way is counted, not kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 64 * 1024 * 1024
_HEAD_END = b"\r\n\r\n"
_CRLF = b"\r\n"
_HEX_DIGITS = b"0123456789abcdefABCDEF"


class ResponseFormatError(Exception):
    """The server sent something that is not a valid HTTP/1.1 response."""


@dataclass(frozen=True, slots=True)
class ParsedResponse:
    """One complete response, body included."""

    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes
    keep_alive: bool


class _State(Enum):
    HEAD = auto()
    LENGTH = auto()
    CHUNK_SIZE = auto()
    CHUNK_DATA = auto()
    CHUNK_END = auto()
    TRAILERS = auto()
    UNTIL_CLOSE = auto()
    COMPLETE = auto()


_STREAM_STATES = frozenset(
    {_State.CHUNK_SIZE, _State.CHUNK_DATA, _State.CHUNK_END, _State.TRAILERS, _State.UNTIL_CLOSE}
)


@dataclass(slots=True)
class _Head:
    status: int
    reason: bytes
    headers: list[tuple[bytes, bytes]]
    keep_alive: bool
    content_length: int | None
    chunked: bool


def _parse_head(raw: bytes) -> _Head:
    lines = raw.split(_CRLF)
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
        raise ResponseFormatError(f"invalid status line {lines[0][:80]!r}")
    http10 = parts[0] == b"HTTP/1.0"
    headers: list[tuple[bytes, bytes]] = []
    connection = b""
    content_length: int | None = None
    transfer_encoding = b""
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise ResponseFormatError(f"invalid header line {line[:80]!r}")
        value = value.strip()
        headers.append((name, value))
        lowered = name.lower()
        if lowered == b"content-length":
            if not value.isdigit() or (content_length not in (None, int(value))):
                raise ResponseFormatError(f"invalid Content-Length {value[:40]!r}")
            content_length = int(value)
        elif lowered == b"transfer-encoding":
            transfer_encoding = value.lower()
        elif lowered == b"connection":
            connection = value.lower()
    tokens = {token.strip() for token in connection.split(b",")}
    keep_alive = b"keep-alive" in tokens if http10 else b"close" not in tokens
    chunked = transfer_encoding.rsplit(b",", 1)[-1].strip() == b"chunked"
    if transfer_encoding:
        # Transfer-Encoding overrides Content-Length (RFC 9112 6.3); any coding
        # but a final "chunked" means the body runs until the connection closes.
        content_length = None
        keep_alive = keep_alive and chunked
    reason = parts[2] if len(parts) == 3 else b""
    return _Head(int(parts[1]), reason, headers, keep_alive, content_length, chunked)


class ResponseReader:
    """Feeds on the bytes of one connection and yields its responses, one at a time.

    Call :meth:`expect` before each request, then :meth:`feed` with what
    arrives until it returns the response; :meth:`feed_eof` when the server
    closes the connection.
    """

    __slots__ = (
        "_body",
        "_buffer",
        "_discard",
        "_head",
        "_head_request",
        "_remaining",
        "_state",
        "body_bytes",
        "received",
    )

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._body = bytearray()
        self._head: _Head | None = None
        self._head_request = False
        self._discard = False
        self._remaining = 0
        self._state = _State.HEAD
        self.received = False
        # Body bytes read so far of the response under way.
        self.body_bytes = 0

    def expect(self, *, head_request: bool = False, discard_body: bool = False) -> None:
        """Get ready for the response to a new request (HEAD ones have no body).

        With ``discard_body`` the body is counted but not kept: a stream the
        client may leave, or hold open for minutes, costs no memory.
        """
        self._buffer.clear()
        self._body.clear()
        self._head = None
        self._head_request = head_request
        self._discard = discard_body
        self._state = _State.HEAD
        self.received = False
        self.body_bytes = 0

    @property
    def streaming(self) -> bool:
        """The head is read and the body is a stream: chunked, or until the connection closes."""
        return self._state in _STREAM_STATES

    def feed(self, data: bytes) -> ParsedResponse | None:
        """Take the next bytes; return the response once it is complete."""
        self.received = True
        self._buffer += data
        return self._advance()

    def feed_eof(self) -> ParsedResponse:
        """The server closed the connection: finish a close-delimited body or fail."""
        if self._state is _State.UNTIL_CLOSE and self._head is not None:
            return self._finish(keep_alive=False)
        raise ResponseFormatError("the server closed the connection in the middle of a response")

    def _advance(self) -> ParsedResponse | None:
        while self._head is None:
            if not self._read_head():
                return None
        state = self._state
        if state is _State.LENGTH:
            count = min(self._remaining, len(self._buffer))
            self._take(count)
            self._remaining -= count
            if self._remaining:
                return None
        elif state is _State.UNTIL_CLOSE:
            self._take(len(self._buffer))
            return None
        elif state is not _State.COMPLETE and not self._read_chunked():
            return None
        return self._finish(keep_alive=self._head.keep_alive)

    def _read_head(self) -> bool:
        """Parse the head once it is all there; False while more bytes are needed."""
        end = self._buffer.find(_HEAD_END)
        if end < 0:
            if len(self._buffer) > MAX_HEAD_BYTES:
                raise ResponseFormatError(f"the response head exceeds {MAX_HEAD_BYTES} bytes")
            return False
        head = _parse_head(bytes(self._buffer[:end]))
        del self._buffer[: end + 4]
        if 100 <= head.status < 200:
            if head.status == 101:
                raise ResponseFormatError("the server switched protocols (101), not supported")
            return True  # an interim response: the final one follows
        self._head = head
        if self._head_request or head.status in (204, 304) or head.content_length == 0:
            self._state = _State.COMPLETE
        elif head.chunked:
            self._state = _State.CHUNK_SIZE
        elif head.content_length is not None:
            self._remaining = head.content_length
            self._state = _State.LENGTH
        else:
            self._state = _State.UNTIL_CLOSE
        return True

    def _take(self, count: int) -> None:
        self.body_bytes += count
        if not self._discard:
            if len(self._body) + count > MAX_BODY_BYTES:
                raise ResponseFormatError(f"the response body exceeds {MAX_BODY_BYTES} bytes")
            self._body += self._buffer[:count]
        del self._buffer[:count]

    def _read_chunked(self) -> bool:
        """Advance through chunks; True once the last chunk and trailers are read."""
        while True:
            if self._state is _State.CHUNK_DATA:
                count = min(self._remaining, len(self._buffer))
                self._take(count)
                self._remaining -= count
                if self._remaining:
                    return False
                self._state = _State.CHUNK_END
                continue
            end = self._buffer.find(_CRLF)
            if end < 0:
                if len(self._buffer) > MAX_HEAD_BYTES:
                    raise ResponseFormatError("a chunk header or trailer line is too long")
                return False
            line = bytes(self._buffer[:end])
            del self._buffer[: end + 2]
            if self._state is _State.CHUNK_END:
                if line:
                    raise ResponseFormatError("a chunk is longer than its announced size")
                self._state = _State.CHUNK_SIZE
            elif self._state is _State.CHUNK_SIZE:
                size_text = line.split(b";", 1)[0].strip()
                if not size_text or size_text.strip(_HEX_DIGITS) or len(size_text) > 16:
                    raise ResponseFormatError(f"invalid chunk size {size_text[:20]!r}")
                self._remaining = int(size_text, 16)
                self._state = _State.CHUNK_DATA if self._remaining else _State.TRAILERS
            elif not line:  # the blank line that ends the trailers
                return True

    def _finish(self, *, keep_alive: bool) -> ParsedResponse:
        head = self._head
        assert head is not None
        # Bytes beyond the response would belong to no request: never reuse the connection.
        reusable = keep_alive and not self._buffer
        response = ParsedResponse(
            head.status, head.reason, head.headers, bytes(self._body), reusable
        )
        self._head = None
        self._state = _State.HEAD
        self._body.clear()
        return response


def encode_request(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
) -> bytes:
    """The request's bytes on the wire; a streamed body goes out as one chunk."""
    chunked = any(name.lower() == b"transfer-encoding" for name, _ in headers)
    lines = [b"%s %s HTTP/1.1\r\n" % (method, target)]
    lines += [b"%s: %s\r\n" % (name, value) for name, value in headers]
    lines.append(b"\r\n")
    if chunked:
        if body:
            lines.append(b"%x\r\n%s\r\n" % (len(body), body))
        lines.append(b"0\r\n\r\n")
    else:
        lines.append(body)
    return b"".join(lines)
