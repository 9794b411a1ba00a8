"""Values that flow between routes: the id a create route returned feeds its items' routes.

OpenAPI links, where the schema declares them, say exactly which answer field
fills which parameter of which operation. Otherwise a simple rule: the answer
of ``POST /orders/`` (an object) fills the ``{order_id}`` of every path under
``/orders/{order_id}``, from its field of that name, else from its ``id``.
"""

from __future__ import annotations

from typing import Any

from leakbench._openapi.operations import Json, Operation, pointer_get


def _collection(path: str) -> str:
    return path.rstrip("/") or "/"


class Flow:
    """What the answers so far tell about the parameters of the routes still to call."""

    def __init__(self) -> None:
        self._created: dict[str, dict[str, Any]] = {}
        self._linked: dict[str, dict[str, Json]] = {}

    def answered(self, operation: Operation, status: int, body: Json) -> None:
        """Remember a 2xx answer: a create route's object, and the values its links name."""
        if not 200 <= status < 300:
            return
        for link in operation.links:
            value = pointer_get(body, link.pointer)
            if value is not None:
                self._linked.setdefault(link.operation_id, {})[link.parameter] = value
        if operation.method == "POST" and isinstance(body, dict):
            self._created.setdefault(_collection(operation.path), body)

    def known_for(self, operation: Operation) -> dict[str, Json]:
        """Values for ``operation``'s path parameters that earlier answers gave."""
        known: dict[str, Json] = {}
        for parameter in operation.path_parameters():
            head = operation.path.split("{" + parameter.name + "}", 1)[0]
            created = self._created.get(_collection(head))
            if created is None:
                continue
            value = created.get(parameter.name, created.get("id"))
            if value is not None and not isinstance(value, dict | list):
                known[parameter.name] = value
        if operation.operation_id is not None:
            known.update(self._linked.get(operation.operation_id, {}))
        return known
