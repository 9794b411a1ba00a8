"""Request settings: headers with ${ENV}, forms, bodies, a mix, a login, and the requests built."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._load.requests import RequestShape, RequestSource, weighted_order
from leakbench._load.transport import SINGLE_USE
from leakbench._settings.mix import parse_mix, route_from_table
from leakbench._settings.request_options import from_options
from leakbench._settings.requests import (
    FORM_TYPE,
    Header,
    Login,
    Route,
    expand_env,
)
from leakbench.errors import UsageError


def test_a_header_value_names_environment_variables_read_at_run_time() -> None:
    header = Header.parse("Authorization:  Bearer ${API_TOKEN}")
    assert header == Header("Authorization", "Bearer ${API_TOKEN}")
    assert header.resolved({"API_TOKEN": "s3cret"}) == ("Authorization", "Bearer s3cret")
    assert header.redacted == "Authorization: ***"
    with pytest.raises(UsageError, match=r"\$\{API_TOKEN\}.*API_TOKEN is not set"):
        header.resolved({})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("no colon here", "is malformed"),
        ("Bad Name: x", "is malformed"),
        ("Content-Length: 3", "set by leakbench itself"),
        ("Host: example", "set by leakbench itself"),
    ],
)
def test_bad_headers_are_usage_errors(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Header.parse(text)


def test_a_malformed_header_shows_only_its_start() -> None:
    with pytest.raises(UsageError) as caught:
        Header.parse("Authorization Bearer eyJhbGciOiJIUzI1NiJ9.very-secret-part")
    assert "very-secret-part" not in str(caught.value)


def test_expand_env_leaves_request_variations_alone() -> None:
    assert expand_env('{"id": "{uuid}", "n": {n}, "k": "${K}"}', "--x", {"K": "v"}) == (
        '{"id": "{uuid}", "n": {n}, "k": "v"}'
    )


def test_mix_entries_from_the_command_line() -> None:
    assert parse_mix("3 GET /items/?limit=5") == Route("GET", "/items/?limit=5", b"", None, 3)
    create = parse_mix('POST /items/ {"title": "t {n}"}')
    assert create == Route("POST", "/items/", b'{"title": "t {n}"}', "application/json", 1)
    # No body of its own: POST takes the row's default body, GET and DELETE none.
    assert parse_mix("POST /items/").body is None
    assert parse_mix("DELETE /items/{uuid}").body == b""
    with pytest.raises(UsageError, match="malformed"):
        parse_mix("3")
    with pytest.raises(UsageError, match="weight 0"):
        parse_mix("0 GET /x")


def test_mix_tables_take_a_form_or_a_json_body() -> None:
    form = route_from_table({"method": "post", "path": "/login", "form": {"a": "1 2", "b": "&"}})
    assert (form.method, form.body, form.content_type) == ("POST", b"a=1+2&b=%26", FORM_TYPE)
    table = route_from_table({"path": "/items/", "method": "PUT", "body": {"title": "{n}"}})
    assert json.loads(table.body or b"") == {"title": "{n}"}
    assert parse_mix('{"path": "/x", "weight": 2}') == Route("GET", "/x", b"", None, 2)
    with pytest.raises(UsageError, match="unknown key 'wieght'"):
        route_from_table({"path": "/x", "wieght": 2})
    with pytest.raises(UsageError, match="not both"):
        route_from_table({"path": "/x", "body": "a", "form": {"a": "b"}})


def test_weighted_order_interleaves_and_follows_the_weights() -> None:
    order = weighted_order([3, 1, 1])
    assert Counter(order) == {0: 3, 1: 1, 2: 1}
    assert order[:2] != [0, 0] or order[2] != 0  # not all of route 0 first
    assert weighted_order([1]) == [0]


def _source(*routes: Route, body: bytes = b'{"x": 1}') -> RequestSource:
    shape = RequestShape("http://127.0.0.1:1", (("X-Key", "k"),), body, timeout=2.0)
    return RequestSource(routes, shape, "leakbench/test")


def test_a_fixed_route_is_built_once_and_a_varying_one_every_time() -> None:
    fixed = _source(Route("GET", "/items/?limit=2", b""))
    first, second = fixed.next()[1], fixed.next()[1]
    assert first is second and fixed.fixed is first
    assert first.headers["x-key"] == "k" and "content-type" not in first.headers
    assert SINGLE_USE not in first.extensions

    varying = _source(Route("POST", "/items/{n}", b'{"id": "{uuid}", "n": {n}}'))
    requests = [varying.next()[1] for _ in range(3)]
    assert varying.fixed is None
    assert [r.url.path for r in requests] == ["/items/1", "/items/2", "/items/3"]
    ids = [json.loads(r.content)["id"] for r in requests]
    assert len({uuid.UUID(i) for i in ids}) == 3
    assert [json.loads(r.content)["n"] for r in requests] == [1, 2, 3]
    assert all(r.extensions[SINGLE_USE] for r in requests)
    assert requests[0].headers["content-type"] == "application/json"


def test_processes_sharing_a_row_count_apart() -> None:
    shape = RequestShape("http://h", (), b"{n}", counter_start=2, counter_step=3)
    source = RequestSource([Route("POST", "/x")], shape, "ua")
    assert [source.next()[1].content for _ in range(3)] == [b"2", b"5", b"8"]


def test_a_mix_serves_its_routes_by_weight_with_their_own_bodies() -> None:
    source = _source(
        Route("GET", "/a", b"", weight=2),
        Route("POST", "/b", None, weight=1),
        Route("POST", "/c", b"x=1", FORM_TYPE, 1),
    )
    sent = [source.next() for _ in range(8)]
    assert Counter(index for index, _ in sent) == {0: 4, 1: 2, 2: 2}
    by_path = {request.url.path: request for _, request in sent}
    assert by_path["/a"].content == b""
    assert by_path["/b"].content == b'{"x": 1}'  # the row's default body
    assert by_path["/c"].headers["content-type"] == FORM_TYPE


def test_options_build_the_body_and_the_login(tmp_path: Path) -> None:
    body, settings = from_options(form=["username=a@b.c", "password=p w"])
    assert body == b"username=a%40b.c&password=p+w" and settings.content_type == FORM_TYPE
    payload = tmp_path / "body.json"
    payload.write_bytes(b'{"big": true}')
    assert from_options(body_file=payload)[0] == b'{"big": true}'
    _, settings = from_options(
        login="POST /login", login_form=["username=u", "password=${PW}"], headers=["A: b"]
    )
    assert settings.login == Login("POST", "/login", (("username", "u"), ("password", "${PW}")))
    assert settings.login.content({"PW": "x y"}) == (b"username=u&password=x+y", FORM_TYPE)
    assert settings.redacted_headers == ("A: ***",)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"body": "{}", "form": ["a=b"]}, "--body and --form both give the body"),
        ({"login_form": ["a=b"]}, "need --login"),
        ({"login": "POST /l", "login_form": ["a=b"], "login_body": "{}"}, "not both"),
        ({"form": ["novalue"]}, "--form 'novalue' is malformed"),
        ({"login": "FETCH /l"}, "unknown method"),
        ({"login": "POST"}, "names a method but no path"),
    ],
)
def test_conflicting_or_malformed_request_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        from_options(**options)  # type: ignore[arg-type]


def test_a_missing_environment_variable_stops_the_run_before_anything_starts() -> None:
    result = CliRunner().invoke(
        app, ["run", "-p", "with-session", "-H", "Authorization: Bearer ${NO_SUCH_TOKEN_VAR}"]
    )
    assert result.exit_code == 2
    assert "NO_SUCH_TOKEN_VAR is not set" in " ".join(result.output.split())
    assert "database:" not in result.output
