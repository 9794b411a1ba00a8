"""The operations of an OpenAPI document, chosen (--route-include/--route-exclude) and ordered.

Order: the create routes of collections first (their answers give the ids the
item routes need), then every other route in the schema's order, and the
routes that destroy data (DELETE) last, and only when asked (--destructive).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from leakbench.errors import UsageError

# What a JSON value from the schema is: text, numbers, lists and objects.
Json = Any
JsonObject = Mapping[str, Any]

_METHODS = ("get", "post", "put", "patch", "delete")
DESTRUCTIVE = frozenset({"DELETE"})
# Security schemes whose token travels in "Authorization: Bearer".
_BEARER_SCHEMES = frozenset({"oauth2", "openIdConnect"})


class Missing:
    """No example was given (``None`` is a valid example)."""


MISSING = Missing()


@dataclass(frozen=True, slots=True)
class Parameter:
    """A path or query parameter: its JSON schema and example, if the schema gives one."""

    name: str
    location: str
    required: bool
    schema: JsonObject
    example: Json = MISSING


@dataclass(frozen=True, slots=True)
class Body:
    """A request body of one media type (JSON or a urlencoded form)."""

    content_type: str
    schema: JsonObject
    required: bool
    example: Json = MISSING


@dataclass(frozen=True, slots=True)
class Link:
    """An OpenAPI link: ``parameter`` of ``operation_id`` comes from this answer's ``pointer``."""

    operation_id: str
    parameter: str
    pointer: str


@dataclass(frozen=True, slots=True)
class Operation:
    """One route of the app: a method on a path template."""

    method: str
    path: str
    tags: tuple[str, ...] = ()
    operation_id: str | None = None
    parameters: tuple[Parameter, ...] = ()
    body: Body | None = None
    # A body of a media type leakbench does not generate (multipart, binary...).
    unsupported_body: str | None = None
    # It declares a bearer or OAuth2 security requirement.
    bearer: bool = False
    links: tuple[Link, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def path_parameters(self) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.location == "path")


@dataclass(frozen=True, slots=True)
class Document:
    """The schema's operations and its shared definitions (for ``$ref``)."""

    operations: tuple[Operation, ...]
    definitions: JsonObject


def read(document: JsonObject) -> Document:
    """The operations of an OpenAPI 3 document, in its order; UsageError if it is not one."""
    paths = document.get("paths")
    if not isinstance(paths, Mapping):
        raise UsageError("The app's OpenAPI schema has no 'paths'; is it a FastAPI app?")
    components = document.get("components") or {}
    schemes = components.get("securitySchemes") or {}
    global_security = document.get("security") or ()
    operations: list[Operation] = []
    for path, item in paths.items():
        if not isinstance(item, Mapping):
            continue
        shared = [_resolve(document, p) for p in item.get("parameters", ())]
        for method in _METHODS:
            spec = item.get(method)
            if isinstance(spec, Mapping):
                operations.append(
                    _operation(
                        document,
                        path=str(path),
                        method=method.upper(),
                        spec=spec,
                        shared=shared,
                        schemes=schemes,
                        global_security=global_security,
                    )
                )
    return Document(tuple(operations), components.get("schemas") or {})


def _operation(
    document: JsonObject,
    *,
    path: str,
    method: str,
    spec: JsonObject,
    shared: list[JsonObject],
    schemes: JsonObject,
    global_security: Sequence[JsonObject],
) -> Operation:
    raw = {(p.get("name"), p.get("in")): p for p in shared}
    for parameter in spec.get("parameters", ()):
        resolved = _resolve(document, parameter)
        raw[(resolved.get("name"), resolved.get("in"))] = resolved
    parameters = tuple(
        Parameter(
            name=str(p["name"]),
            location=str(p["in"]),
            required=bool(p.get("required", p.get("in") == "path")),
            schema=p.get("schema") or {},
            example=_example(p, p.get("schema") or {}),
        )
        for p in raw.values()
        if p.get("in") in ("path", "query") and "name" in p
    )
    body, unsupported = _body(document, spec.get("requestBody"))
    security = spec.get("security", global_security) or ()
    bearer = any(
        _is_bearer(schemes.get(name) or {}) for requirement in security for name in requirement
    )
    return Operation(
        method=method,
        path=path,
        tags=tuple(str(tag) for tag in spec.get("tags", ())),
        operation_id=spec.get("operationId"),
        parameters=parameters,
        body=body,
        unsupported_body=unsupported,
        bearer=bearer,
        links=_links(document, spec.get("responses") or {}),
    )


def _is_bearer(scheme: JsonObject) -> bool:
    kind = scheme.get("type")
    return kind in _BEARER_SCHEMES or (
        kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer"
    )


def _body(document: JsonObject, raw: Json) -> tuple[Body | None, str | None]:
    if not isinstance(raw, Mapping):
        return None, None
    spec = _resolve(document, raw)
    content = spec.get("content") or {}
    for media in ("application/json", "application/x-www-form-urlencoded"):
        if media in content:
            entry = content[media] or {}
            schema = entry.get("schema") or {}
            return Body(media, schema, bool(spec.get("required")), _example(entry, schema)), None
    if content and spec.get("required"):
        return None, next(iter(content))
    return None, None


def _example(holder: JsonObject, schema: JsonObject) -> Json:
    """The first example given: on the parameter or media type, then on its schema."""
    if "example" in holder:
        return holder["example"]
    examples = holder.get("examples")
    if isinstance(examples, Mapping) and examples:
        first = next(iter(examples.values()))
        if isinstance(first, Mapping) and "value" in first:
            return first["value"]
    if "example" in schema:
        return schema["example"]
    listed = schema.get("examples")
    if isinstance(listed, list) and listed:
        return listed[0]
    return MISSING


def _links(document: JsonObject, responses: JsonObject) -> tuple[Link, ...]:
    links: list[Link] = []
    for status, raw in responses.items():
        if not str(status).startswith("2") or not isinstance(raw, Mapping):
            continue
        for link in (_resolve(document, raw).get("links") or {}).values():
            link = _resolve(document, link)  # noqa: PLW2901 - a $ref stands for the link
            target = link.get("operationId")
            for parameter, expression in (link.get("parameters") or {}).items():
                body_value = isinstance(expression, str) and expression.startswith(
                    "$response.body#"
                )
                if target and body_value:
                    pointer = str(expression).removeprefix("$response.body#")
                    links.append(Link(str(target), str(parameter), pointer))
    return tuple(links)


def _resolve(document: JsonObject, value: Json) -> JsonObject:
    """A local ``$ref`` (``#/components/...``) replaced by what it points at."""
    seen = 0
    while isinstance(value, Mapping) and "$ref" in value and seen < 20:
        value = pointer_get(document, str(value["$ref"]).removeprefix("#"))
        seen += 1
    return value if isinstance(value, Mapping) else {}


def pointer_get(data: Json, pointer: str) -> Json:
    """The value at a JSON pointer (``/a/0/b``), or None."""
    for token in pointer.split("/")[1:] if pointer else ():
        key = token.replace("~1", "/").replace("~0", "~")
        if isinstance(data, Mapping):
            data = data.get(key)
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            return None
    return data


@dataclass(frozen=True, slots=True)
class RouteFilter:
    """--route-include / --route-exclude globs, on "METHOD /path" or on a tag; --destructive."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    destructive: bool = False

    def __post_init__(self) -> None:
        for option, globs in (("--route-include", self.include), ("--route-exclude", self.exclude)):
            for glob in globs:
                if not glob.strip():
                    raise UsageError(f"{option} is empty; give a glob such as 'GET /items*'.")

    def wants(self, operation: Operation) -> bool:
        names = (operation.label, *operation.tags)
        if self.include and not any(_matches(g, names) for g in self.include):
            return False
        return not any(_matches(glob, names) for glob in self.exclude)


def _matches(glob: str, names: Iterable[str]) -> bool:
    # "GET /items*" names a method; "/items*" any method; a glob without "/" may be a tag.
    pattern = glob.strip()
    if " " in pattern:
        method, _, rest = pattern.partition(" ")
        pattern = f"{method.upper()} {rest.strip()}"
    elif pattern.startswith("/"):
        pattern = f"* {pattern}"
    return any(fnmatch.fnmatchcase(name, pattern) for name in names)


def choose(operations: Sequence[Operation], routes: RouteFilter) -> tuple[Operation, ...]:
    """The operations to load, in order: creates first, then the rest, DELETE last."""
    wanted = [
        op
        for op in operations
        if routes.wants(op) and (routes.destructive or op.method not in DESTRUCTIVE)
    ]
    prefixes = {_collection(op.path) for op in wanted if op.path_parameters()}

    def rank(op: Operation) -> int:
        if op.method in DESTRUCTIVE:
            return 2
        return 0 if op.method == "POST" and _normal(op.path) in prefixes else 1

    return tuple(sorted(wanted, key=rank))  # sorted is stable: the schema's order otherwise


def _normal(path: str) -> str:
    return path.rstrip("/") or "/"


def _collection(path: str) -> str:
    """``/orders/{order_id}/lines`` -> ``/orders`` (the path before its first parameter)."""
    head = path.split("{", 1)[0]
    return _normal(head)


def skipped_destructive(operations: Sequence[Operation], routes: RouteFilter) -> int:
    """How many routes that destroy data were left out for want of --destructive."""
    if routes.destructive:
        return 0
    return sum(1 for op in operations if op.method in DESTRUCTIVE and routes.wants(op))
