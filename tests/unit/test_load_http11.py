"""The load transport's HTTP/1.1 response reader, fed bytes directly (it does no I/O)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leakbench._load.http11 import (
    ParsedResponse,
    ResponseFormatError,
    ResponseReader,
    encode_request,
)

CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n"
)


def read(*parts: bytes, head_request: bool = False) -> ParsedResponse | None:
    reader = ResponseReader()
    reader.expect(head_request=head_request)
    response = None
    for part in parts:
        assert response is None, "a response completed before its last bytes"
        response = reader.feed(part)
    return response


def split_everywhere(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def test_content_length_body() -> None:
    response = read(b"HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello")

    assert response == ParsedResponse(
        201, b"Created", [(b"Content-Length", b"5"), (b"X-A", b"b")], b"hello", keep_alive=True
    )


def test_a_response_fed_one_byte_at_a_time() -> None:
    response = read(*split_everywhere(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"))

    assert response is not None
    assert response.body == b"abc"


def test_chunked_body_with_extensions_and_trailers() -> None:
    response = read(CHUNKED)

    assert response is not None
    assert response.body == b"hello, world"
    assert response.keep_alive


@given(st.lists(st.integers(min_value=1, max_value=len(CHUNKED) - 1), max_size=8))
def test_chunked_body_split_anywhere(cuts: list[int]) -> None:
    bounds = [0, *sorted(set(cuts)), len(CHUNKED)]
    parts = [CHUNKED[a:b] for a, b in itertools.pairwise(bounds)]

    response = read(*parts)

    assert response is not None
    assert response.body == b"hello, world"


def test_the_reader_is_reused_for_the_next_response() -> None:
    reader = ResponseReader()
    for body in (b"one", b"three"):
        reader.expect()
        response = reader.feed(
            b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        assert response is not None
        assert response.body == body


def test_a_body_delimited_by_the_connection_closing() -> None:
    reader = ResponseReader()
    reader.expect()
    assert reader.feed(b"HTTP/1.1 200 OK\r\n\r\npart one, ") is None
    assert reader.feed(b"part two") is None

    response = reader.feed_eof()

    assert response.body == b"part one, part two"
    assert not response.keep_alive


@pytest.mark.parametrize(
    ("head", "head_request"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", True),
        (b"HTTP/1.1 204 No Content\r\n\r\n", False),
        (b"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", False),
    ],
)
def test_responses_without_a_body(head: bytes, head_request: bool) -> None:
    response = read(head, head_request=head_request)

    assert response is not None
    assert response.body == b""
    assert response.keep_alive


def test_an_interim_response_is_skipped() -> None:
    response = read(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    assert response is not None
    assert (response.status, response.body) == (200, b"ok")


@pytest.mark.parametrize(
    ("head", "keep_alive"),
    [
        (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Upgrade\r\nContent-Length: 0\r\n\r\n", True),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", False),
        (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", True),
    ],
)
def test_keep_alive_follows_the_connection_header_and_version(
    head: bytes, keep_alive: bool
) -> None:
    response = read(head)

    assert response is not None
    assert response.keep_alive is keep_alive


def test_bytes_beyond_the_response_make_the_connection_unusable() -> None:
    response = read(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA")

    assert response is not None
    assert response.body == b"ok"
    assert not response.keep_alive


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/1.1 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
    ],
)
def test_malformed_responses_are_errors(data: bytes) -> None:
    with pytest.raises(ResponseFormatError):
        read(data)


def test_a_connection_closed_mid_body_is_an_error() -> None:
    reader = ResponseReader()
    reader.expect()
    assert reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc") is None

    with pytest.raises(ResponseFormatError, match="middle of a response"):
        reader.feed_eof()


def test_request_encoding_with_a_length_and_with_chunks() -> None:
    headers = [(b"Host", b"127.0.0.1:8000"), (b"Content-Length", b"2")]
    assert encode_request(b"POST", b"/ok?x=1", headers, b"{}") == (
        b"POST /ok?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nContent-Length: 2\r\n\r\n{}"
    )
    streamed = [(b"Host", b"h"), (b"Transfer-Encoding", b"chunked")]
    assert encode_request(b"PUT", b"/", streamed, b"abc").endswith(b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
