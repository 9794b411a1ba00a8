"""What a row sends to: one endpoint, or a workload of weighted routes."""

from __future__ import annotations

from dataclasses import dataclass

from leakbench._settings.requests import Route, parse_method_path


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One HTTP route to load: a method and a path."""

    method: str
    path: str

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """Parse ``"POST /orders"``, ``"/orders"`` (POST) or a bare name ``"ok"`` (POST /ok)."""
        method, path = parse_method_path(text.strip(), "--endpoint")
        return cls(method=method, path=path)

    @property
    def label(self) -> str:
        """The name shown in tables: the bare path for POST (as the PR), else 'GET /x'."""
        return self.path if self.method == "POST" else f"{self.method} {self.path}"


@dataclass(frozen=True, slots=True)
class Workload:
    """What one row sends: one route (an --endpoint) or a weighted mix of them (--mix)."""

    label: str
    routes: tuple[Route, ...]

    @classmethod
    def single(cls, endpoint: Endpoint) -> Workload:
        return cls(endpoint.label, (Route(endpoint.method, endpoint.path),))

    @property
    def is_mix(self) -> bool:
        return len(self.routes) > 1


# The row of a target loaded by --load-command without --endpoint: the command picks the routes.
COMMAND_ENDPOINT = Endpoint("GET", "/")
