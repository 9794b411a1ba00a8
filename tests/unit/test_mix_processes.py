"""A row shared over driver processes: {n} never repeats, a mix's per-route figures add up."""

from __future__ import annotations

from dataclasses import replace

from leakbench.config import Endpoint
from leakbench.load.driver import LoadPlan, request_source
from leakbench.load.processes import merge_routes, plans_for
from leakbench.request_spec import Route
from leakbench.results import RouteStats

PLAN = LoadPlan(
    "http://127.0.0.1:1",
    Endpoint("POST", "/items/{n}"),
    concurrency=6,
    duration=5.0,
    body=b"{n}",
)


def test_processes_never_send_the_same_n() -> None:
    seen: list[bytes] = []
    for plan in plans_for(PLAN, 3):
        source = request_source(plan)
        seen += [source.next()[1].content for _ in range(50)]
    assert len(seen) == 150 and len(set(seen)) == 150
    assert set(seen) == {str(n).encode() for n in range(1, 151)}


def test_the_routes_of_every_process_are_summed_in_order() -> None:
    one = (RouteStats("GET /a", 2, ((200, 5),)), RouteStats("POST /b", 1, ((201, 2),), 1))
    two = (RouteStats("GET /a", 2, ((200, 4), (500, 1))), RouteStats("POST /b", 1, ((201, 3),)))
    merged = merge_routes([one, two, ()])
    assert merged == (
        RouteStats("GET /a", 2, ((200, 9), (500, 1))),
        RouteStats("POST /b", 1, ((201, 5),), 1),
    )
    assert merge_routes([(), ()]) == ()
    mix = replace(PLAN, routes=(Route("GET", "/a", b"", weight=2), Route("POST", "/b")))
    assert {p.routes for p in plans_for(mix, 2)} == {mix.routes}
