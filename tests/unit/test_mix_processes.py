"""A row shared over driver processes: {n} never repeats, a mix's per-route figures add up."""

from __future__ import annotations

from dataclasses import replace

from leakbench._load.driver import LoadPlan, request_source
from leakbench._load.histogram import LatencyHistogram
from leakbench._load.processes import merge_routes, plans_for
from leakbench._results import RouteStats
from leakbench._settings import Endpoint
from leakbench._settings.requests import Route

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


def test_each_routes_latency_is_merged_from_every_process_histogram() -> None:
    """A route's p95 is that of all its requests, not one process's or an average."""
    fast, slow = LatencyHistogram(), LatencyHistogram()
    for _ in range(90):
        fast.record(0.010)
    for _ in range(10):
        slow.record(0.500)
    other = LatencyHistogram()
    other.record(0.002)
    routes = (RouteStats("GET /a", 1, ((200, 90),)), RouteStats("GET /b", 1, ((200, 1),)))
    later = (RouteStats("GET /a", 1, ((200, 10),)), RouteStats("GET /b", 1, ()))
    merged = merge_routes([routes, later], [[fast, other], [slow, LatencyHistogram()]])
    a, b = merged
    assert a.latency is not None and b.latency is not None
    assert 0.0095 * 1000 <= a.latency.p50 <= 0.0105 * 1000
    assert a.latency.p95 >= 495  # the slow process's tail, which one process alone hides
    assert b.latency.p95 <= 2.1
    assert "p95 " in a.describe() and a.describe().startswith("GET /a (weight 1): 100 (2xx 100")
