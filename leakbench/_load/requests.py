"""The requests a row sends, built from :mod:`leakbench._settings.requests` values.

A route whose path and body are fixed is built once: every worker sends the
same ``httpx2.Request`` object and the transport encodes it once. Only a route
with ``{n}`` or ``{uuid}`` is rebuilt (and re-encoded) for each request. A mix
is served in a fixed, interleaved order that follows the weights exactly
(smooth weighted round robin), so short rows still get every route.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import httpx2

from leakbench._load.transport import SINGLE_USE
from leakbench._settings import defaults
from leakbench._settings.requests import JSON_TYPE, Route


@dataclass(frozen=True, slots=True)
class RequestShape:
    """Everything a row's requests share: where they go and what they all carry."""

    base_url: str
    headers: tuple[tuple[str, str], ...]
    default_body: bytes
    default_content_type: str = JSON_TYPE
    timeout: float = defaults.REQUEST_TIMEOUT
    # {n} of the first request, and the step between requests: several driver
    # processes sharing one row count 1, 3, 5... and 2, 4, 6..., never the same n.
    counter_start: int = 1
    counter_step: int = 1


def weighted_order(weights: Sequence[int]) -> list[int]:
    """Route indexes in an interleaved order where route i appears weights[i] times."""
    current = [0] * len(weights)
    total = sum(weights)
    order: list[int] = []
    for _ in range(total):
        for index, weight in enumerate(weights):
            current[index] += weight
        chosen = max(range(len(weights)), key=current.__getitem__)
        current[chosen] -= total
        order.append(chosen)
    return order


class _Prepared:
    __slots__ = ("body", "fixed", "headers", "method", "url", "varies")

    def __init__(self, route: Route, shape: RequestShape, user_agent: str) -> None:
        body = shape.default_body if route.body is None else route.body
        content_type = route.content_type or shape.default_content_type
        headers = [("user-agent", user_agent)]
        if body:
            headers.append(("content-type", content_type))
        headers.extend(shape.headers)
        self.method, self.url, self.body = route.method, shape.base_url + route.path, body
        self.headers = headers
        self.varies = any(token in route.path or token.encode() in body for token in _TOKENS)
        self.fixed = None if self.varies else self.build(self.url, body, shape.timeout)

    def build(self, url: str, body: bytes, timeout: float, *, once: bool = False) -> httpx2.Request:
        extensions: dict[str, object] = {"timeout": httpx2.Timeout(timeout).as_dict()}
        if once:
            extensions[SINGLE_USE] = True
        return httpx2.Request(
            self.method, url, content=body or None, headers=self.headers, extensions=extensions
        )


_TOKENS = ("{n}", "{uuid}")


class RequestSource:
    """Gives each worker its next request and the index of the route it belongs to."""

    __slots__ = ("_count", "_order", "_prepared", "_shape", "_timeout")

    def __init__(self, routes: Sequence[Route], shape: RequestShape, user_agent: str) -> None:
        self._prepared = [_Prepared(route, shape, user_agent) for route in routes]
        self._order = weighted_order([route.weight for route in routes])
        self._count = 0
        self._timeout = shape.timeout
        self._shape = shape

    @property
    def fixed(self) -> httpx2.Request | None:
        """The one request of a single fixed route (the fast path), else None."""
        return self._prepared[0].fixed if len(self._prepared) == 1 else None

    def next(self) -> tuple[int, httpx2.Request]:
        self._count += 1
        index = self._order[(self._count - 1) % len(self._order)]
        prepared = self._prepared[index]
        if prepared.fixed is not None:
            return index, prepared.fixed
        shape = self._shape
        n = str(shape.counter_start + (self._count - 1) * shape.counter_step)
        unique = str(uuid.uuid4())
        url = prepared.url.replace("{n}", n).replace("{uuid}", unique)
        body = prepared.body.replace(b"{n}", n.encode()).replace(b"{uuid}", unique.encode())
        return index, prepared.build(url, body, self._timeout, once=True)
