"""--all-routes, the pure parts: reading a FastAPI schema, choosing and ordering its routes,
making their requests, carrying a created id to the item routes, and the summary line."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from leakbench._openapi import operations, values
from leakbench._openapi.flow import Flow
from leakbench._openapi.operations import RouteFilter
from leakbench._results import (
    ActivitySample,
    Findings,
    LatencySummary,
    LoadStats,
    Phase,
    RowResult,
    Verdict,
)
from leakbench._settings import defaults
from leakbench._settings.options import RunOptions
from leakbench._verdict.routes import explained, fresh_target_note, route_summary
from leakbench.errors import UsageError


class OrderIn(BaseModel):
    item: str = Field(min_length=3, max_length=20)
    quantity: int = Field(ge=1, le=9)


class Note(BaseModel):
    text: str = Field(examples=["hello from the schema"])


BearerDep = Annotated[HTTPAuthorizationCredentials, Depends(HTTPBearer())]


def _schema() -> dict[str, Any]:
    app = FastAPI()

    @app.get("/health", tags=["ops"])
    def health() -> dict[str, str]:
        return {}

    @app.get("/orders/{order_id}/lines/{line_id}", tags=["orders"])
    def line(order_id: int, line_id: int) -> dict[str, str]:
        return {}

    @app.delete("/orders/{order_id}", tags=["orders"])
    def delete(order_id: int) -> dict[str, str]:
        return {}

    @app.get("/orders/{order_id}", tags=["orders"])
    def read(order_id: int, verbose: bool = False) -> dict[str, str]:
        return {}

    @app.post("/orders/", tags=["orders"])
    def create(order: OrderIn) -> dict[str, str]:
        return {}

    @app.get("/search")
    def search(q: str, limit: int = 10) -> dict[str, str]:
        return {}

    @app.post("/notes")
    def note(note: Note) -> dict[str, str]:
        return {}

    @app.get("/me")
    def me(credentials: BearerDep) -> None:
        return None

    return app.openapi()


DOCUMENT = operations.read(_schema())


def _labels(chosen: tuple[operations.Operation, ...]) -> list[str]:
    return [op.label for op in chosen]


def _by_label(label: str) -> operations.Operation:
    return next(op for op in DOCUMENT.operations if op.label == label)


def test_creates_come_first_and_delete_only_when_asked_and_last() -> None:
    default = _labels(operations.choose(DOCUMENT.operations, RouteFilter()))
    assert default == [
        "POST /orders/",  # its answer feeds the item routes
        "GET /health",
        "GET /orders/{order_id}/lines/{line_id}",
        "GET /orders/{order_id}",
        "GET /search",
        "POST /notes",
        "GET /me",
    ]
    asked = _labels(operations.choose(DOCUMENT.operations, RouteFilter(destructive=True)))
    assert asked[-1] == "DELETE /orders/{order_id}" and len(asked) == len(default) + 1
    assert operations.skipped_destructive(DOCUMENT.operations, RouteFilter()) == 1


@pytest.mark.parametrize(
    ("include", "exclude", "expected"),
    [
        (("orders",), (), ["POST /orders/", "GET /orders/{order_id}/lines/{line_id}",
                           "GET /orders/{order_id}"]),
        (("GET /orders*",), ("*/lines/*",), ["GET /orders/{order_id}"]),
        (("/orders/",), (), ["POST /orders/"]),
        ((), ("ops", "GET /me", "/orders*", "/search", "/notes"), []),
        (("post /notes",), (), ["POST /notes"]),
    ],
)  # fmt: skip
def test_globs_match_method_and_path_or_a_tag(
    include: tuple[str, ...], exclude: tuple[str, ...], expected: list[str]
) -> None:
    chosen = operations.choose(DOCUMENT.operations, RouteFilter(include, exclude))
    assert _labels(chosen) == expected


def test_an_empty_glob_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--route-exclude is empty"):
        RouteFilter(exclude=(" ",))


def test_the_schema_s_security_and_parameters_are_read() -> None:
    assert _by_label("GET /me").bearer and not _by_label("GET /health").bearer
    search = _by_label("GET /search")
    assert [(p.name, p.location, p.required) for p in search.parameters] == [
        ("q", "query", True),
        ("limit", "query", False),
    ]
    assert _by_label("POST /orders/").body is not None
    with pytest.raises(UsageError, match="no 'paths'"):
        operations.read({"openapi": "3.1.0"})


def test_generated_values_are_valid_for_their_schema() -> None:
    """Bodies, required queries and path parameters: valid values, never a placeholder."""
    create = _by_label("POST /orders/")
    for call in values.calls(create, DOCUMENT.definitions, {}):
        body = json.loads(call.body or b"")
        OrderIn.model_validate(body)  # pydantic's own check of what FastAPI would get
        assert call.content_type == "application/json"
    (search_call, *_) = values.calls(_by_label("GET /search"), DOCUMENT.definitions, {})
    assert search_call.path.startswith("/search?q=") and "limit" not in search_call.path
    (read_call, *_) = values.calls(_by_label("GET /orders/{order_id}"), DOCUMENT.definitions, {})
    assert read_call.path.removeprefix("/orders/").lstrip("-").isdigit()


def test_the_schema_s_example_comes_first() -> None:
    first, *_ = values.calls(_by_label("POST /notes"), DOCUMENT.definitions, {})
    assert json.loads(first.body or b"") == {"text": "hello from the schema"}


def test_a_created_id_feeds_the_item_routes_of_its_collection() -> None:
    flow = Flow()
    create, item = _by_label("POST /orders/"), _by_label("GET /orders/{order_id}")
    nested = _by_label("GET /orders/{order_id}/lines/{line_id}")
    flow.answered(create, 422, {"id": 1})  # a refused create gives nothing
    assert flow.known_for(item) == {}
    flow.answered(create, 201, {"id": 42, "item": "tea"})
    assert flow.known_for(item) == {"order_id": 42}
    assert flow.known_for(nested) == {"order_id": 42}  # line_id: no create route gave one
    (call,) = values.calls(item, DOCUMENT.definitions, flow.known_for(item))
    assert call.path == "/orders/42"


def test_openapi_links_say_which_field_fills_which_parameter() -> None:
    schema = _schema()
    responses = schema["paths"]["/orders/"]["post"]["responses"]
    responses["200"]["links"] = {
        "line": {
            "operationId": _by_label("GET /orders/{order_id}/lines/{line_id}").operation_id,
            "parameters": {"line_id": "$response.body#/lines/0/number"},
        }
    }
    document = operations.read(schema)
    create = next(op for op in document.operations if op.label == "POST /orders/")
    nested = next(op for op in document.operations if "lines" in op.path)
    flow = Flow()
    flow.answered(create, 200, {"id": 7, "lines": [{"number": 3}]})
    assert flow.known_for(nested) == {"order_id": 7, "line_id": 3}


def _row(endpoint: str, verdict: Verdict, **extra: Any) -> RowResult:
    return RowResult("app:app", endpoint, verdict, None, None, **extra)


def test_the_summary_counts_every_route_and_says_why_one_was_not_exercised() -> None:
    rows = [
        _row("GET /a", Verdict.CLEAN),
        _row("GET /b", Verdict.LEAKED),
        _row("POST /upload", Verdict.INCONCLUSIVE, error="Not exercised: 422 on every request "
             "tried (3, from the schema's examples and generated values); give an example."),
        _row("GET /admin", Verdict.INCONCLUSIVE, note="Not exercised: every answer was 401 and "
             "nothing reached the database; give --login."),
    ]  # fmt: skip
    assert route_summary(rows) == (
        "4 routes: 1 CLEAN, 1 LEAKED, 2 not exercised "
        "(POST /upload: 422 on every request tried (3, from the schema's examples and "
        "generated values); GET /admin: every answer was 401 and nothing reached the database)."
    )
    assert route_summary(rows[:1]) == "1 route: 1 CLEAN, 0 LEAKED, 0 not exercised."
    failed = [*rows[:1], _row("GET /c", Verdict.FAILED, error="The target exited.")]
    assert route_summary(failed).endswith("0 not exercised, 1 FAILED.")


def test_a_finding_s_reason_explains_an_inconclusive_row() -> None:
    sample = ActivitySample(t=0.0, phase=Phase.FINAL)
    findings = Findings(
        verdict=Verdict.INCONCLUSIVE,
        reasons=("Nothing touched the database: 0 checkouts.", "More."),
        baseline=sample,
        after_settle=sample,
        peak_idle_in_transaction=0,
        peak_active=0,
        peak_total_connections=0,
        peak_oldest_transaction_seconds=None,
        settled=True,
        settle_seconds=1.0,
        leaked_connections=0,
    )
    row = RowResult("app:app", "GET /health", Verdict.INCONCLUSIVE, None, findings)
    assert "GET /health: Nothing touched the database: 0 checkouts" in route_summary([row])


def test_all_routes_rows_are_short_and_light_by_default() -> None:
    options = RunOptions(pattern=("both",), all_routes=True).config()
    # Bounded by a count, so a busy machine still sends each route as many requests.
    assert options.load.requests == defaults.ALL_ROUTES_REQUESTS
    assert options.load.duration == defaults.ALL_ROUTES_DURATION
    assert options.load.concurrency == defaults.ALL_ROUTES_CONCURRENCY
    # A duration given replaces both: the row lasts that long, however many requests it sends.
    timed = RunOptions(pattern=("both",), all_routes=True, duration=2.0).config()
    assert (timed.load.duration, timed.load.requests) == (2.0, None)
    assert options.all_routes is not None and not options.all_routes.destructive
    assert (
        RunOptions(pattern=("both",), all_routes=True, concurrency=3).config().load.concurrency == 3
    )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"endpoint": ("GET /x",)}, "so --endpoint cannot be combined with it"),
        ({"mix": ("GET /x",)}, "so --mix cannot be combined with it"),
    ],
)
def test_all_routes_refuses_rows_of_its_own(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        RunOptions(pattern=("both",), all_routes=True, **extra).config()


def test_narrowing_options_need_all_routes() -> None:
    with pytest.raises(UsageError, match="--destructive belongs to --all-routes"):
        RunOptions(pattern=("both",), destructive=True).config()


def test_a_route_that_left_anything_behind_hands_the_next_a_fresh_target() -> None:
    """Not only after a leak: leftovers would sit in the next row's baseline."""
    sample = ActivitySample(t=0.0, phase=Phase.FINAL)
    base = Findings(
        verdict=Verdict.CLEAN,
        reasons=(),
        baseline=sample,
        after_settle=sample,
        peak_idle_in_transaction=0,
        peak_active=0,
        peak_total_connections=0,
        peak_oldest_transaction_seconds=None,
        settled=True,
        settle_seconds=1.0,
        leaked_connections=0,
    )
    clean = RowResult("app:app", "GET /a", Verdict.CLEAN, None, base)
    assert fresh_target_note(clean, alive=True) is None
    assert fresh_target_note(clean, alive=False) == (
        "On a fresh target process: the one before exited during GET /a."
    )
    leaked = RowResult("app:app", "GET /b", Verdict.LEAKED, None, base)
    assert fresh_target_note(leaked, alive=True) == (
        "On a fresh target process: GET /b before it leaked."
    )
    doubtful = RowResult(
        "app:app",
        "GET /c",
        Verdict.INCONCLUSIVE,
        None,
        dataclasses.replace(base, verdict=Verdict.INCONCLUSIVE, pool_leaked_connections=2),
    )
    assert "GET /c before it left connections above its baseline" in str(
        fresh_target_note(doubtful, alive=True)
    )


def test_a_route_refused_401_without_a_login_says_what_is_missing() -> None:
    def row(verdict: Verdict, status: int) -> RowResult:
        load = LoadStats(
            sent=10,
            status_counts=((status, 10),),
            transport_errors=0,
            timeouts=0,
            elapsed_seconds=1.0,
            latency=LatencySummary(),
            concurrency=1,
        )
        return RowResult("app:app", "GET /admin", verdict, load, None)

    refused = explained(row(Verdict.INCONCLUSIVE, 401), (401, 401), logged_in=False)
    assert refused.note == (
        "Not exercised: every answer was 401 and nothing reached the database; give --login "
        "(and --login-form) so the route runs as a signed-in user."
    )
    # Logged in, judged, or answered otherwise: nothing to add.
    assert explained(row(Verdict.INCONCLUSIVE, 401), (), logged_in=True).note is None
    assert explained(row(Verdict.CLEAN, 401), (401,), logged_in=False).note is None
    assert explained(row(Verdict.INCONCLUSIVE, 404), (401,), logged_in=False).note is None
