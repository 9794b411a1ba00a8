"""The app's routes and login, from its own OpenAPI schema.

The app is imported in a child process (its import-time code, an engine made
at import, a settings object that reads the environment, die with it), in
the project's folder, with the environment ``leakbench run`` would give it
but pointed at no server; ``app.openapi()`` is written to a file. Reading the
schema is pure: :func:`read_schema`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leakbench.errors import UsageError

IMPORT_TIMEOUT_SECONDS = 60
_METHODS = ("get", "post", "put", "patch", "delete")
_CHILD = """
import importlib, json, sys
sys.path.insert(0, ".")
target, out = sys.argv[1], sys.argv[2]
module_name, _, attribute = target.partition(":")
if module_name.endswith(".py"):
    import runpy
    namespace = runpy.run_path(module_name)
    app = namespace[attribute]
else:
    app = getattr(importlib.import_module(module_name), attribute)
with open(out, "w", encoding="utf-8") as handle:
    json.dump(app.openapi(), handle)
"""


@dataclass(frozen=True, slots=True)
class Route:
    """One operation: ``body`` is a JSON body that satisfies its schema, when one was made."""

    method: str
    path: str
    tags: tuple[str, ...] = ()
    has_path_parameters: bool = False
    required_query: tuple[str, ...] = ()
    needs_body: bool = False
    body: dict[str, Any] | None = None
    secured: bool = False

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def loadable(self) -> bool:
        """Callable as it is: no path parameter or required query to invent, a body if needed."""
        return (
            not self.has_path_parameters
            and not self.required_query
            and (not self.needs_body or self.body is not None)
        )


@dataclass(frozen=True, slots=True)
class ApiFacts:
    routes: tuple[Route, ...] = ()
    # The OAuth2 password flow's token URL: the login leakbench can perform.
    token_url: str | None = None
    # Schemes leakbench cannot log in with: (kind, header name) such as ("bearer", "Authorization").
    other_schemes: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def fetch_schema(root: Path, target: str, env: Mapping[str, str]) -> dict[str, Any]:
    """Import ``target`` in ``root`` in a child process and return ``app.openapi()``."""
    with tempfile.TemporaryDirectory(prefix="leakbench-init-") as scratch:
        out = Path(scratch) / "openapi.json"
        try:
            done = subprocess.run(
                [sys.executable, "-c", _CHILD, target, str(out)],
                cwd=root,
                env=dict(env),
                capture_output=True,
                text=True,
                timeout=IMPORT_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise UsageError(
                f"importing {target} took more than {IMPORT_TIMEOUT_SECONDS} s; "
                "check what the app does at import time."
            ) from None
        if done.returncode != 0 or not out.is_file():
            lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
            last = lines[-1].strip() if lines else f"exit code {done.returncode}"
            raise UsageError(f"could not import {target} for its OpenAPI schema: {last}")
        schema: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return schema


def _resolve(schema: Any, spec: Mapping[str, Any], depth: int = 0) -> Any:
    if isinstance(schema, dict) and "$ref" in schema and depth < 20:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return _resolve(
            spec.get("components", {}).get("schemas", {}).get(name, {}), spec, depth + 1
        )
    return schema


def _value(schema: Mapping[str, Any], name: str) -> object:
    """A value for one scalar property; unique per request where that matters (``{n}``)."""
    if "example" in schema:
        return schema["example"]
    given = schema.get("examples") or schema.get("enum")
    if given:
        return given[0]
    kind = schema.get("type")
    if kind == "string":
        return _string(str(schema.get("format", "")), name)
    minimum = schema.get("minimum", 1)
    scalars: dict[str, object] = {
        "integer": max(1, int(minimum)),
        "number": float(minimum),
        "boolean": True,
    }
    if kind in scalars:
        return scalars[str(kind)]
    raise ValueError(name)


def _string(fmt: str, name: str) -> str:
    if fmt == "uuid":
        return "{uuid}"
    if fmt == "email" or "email" in name.lower():
        return "leakbench-{n}@example.com"
    return f"{name} {{n}}"


def simple_body(schema: Any, spec: Mapping[str, Any]) -> dict[str, Any] | None:
    """A body with each required property of a flat object schema; None when not that simple.

    Only scalars (strings, numbers, booleans, enums, examples) are made up: a
    body that needs more is left for the user to write, never guessed.
    """
    resolved = _resolve(schema, spec)
    if not isinstance(resolved, dict):
        return None
    if "example" in resolved and isinstance(resolved["example"], dict):
        return dict(resolved["example"])
    if resolved.get("type") != "object":
        return None
    properties = resolved.get("properties", {})
    body: dict[str, Any] = {}
    try:
        for name in resolved.get("required", []):
            prop = _resolve(properties.get(name, {}), spec)
            if "anyOf" in prop:  # Optional[X]: the first branch that is not null
                prop = next(p for p in prop["anyOf"] if p.get("type") != "null")
            body[name] = _value(prop, name)
    except (ValueError, StopIteration):
        return None
    return body


def _route(method: str, path: str, operation: Mapping[str, Any], spec: Mapping[str, Any]) -> Route:
    parameters = [_resolve(p, spec) for p in operation.get("parameters", [])]
    request_body = operation.get("requestBody") or {}
    content = request_body.get("content", {})
    needs_body = bool(request_body.get("required")) or bool(content)
    body = None
    if "application/json" in content:
        body = simple_body(content["application/json"].get("schema", {}), spec)
    return Route(
        method=method.upper(),
        path=path,
        tags=tuple(str(tag) for tag in operation.get("tags", [])),
        has_path_parameters=any(p.get("in") == "path" for p in parameters),
        required_query=tuple(
            str(p.get("name")) for p in parameters if p.get("in") == "query" and p.get("required")
        ),
        needs_body=needs_body,
        body=body,
        secured=bool(operation.get("security", spec.get("security"))),
    )


def read_schema(spec: Mapping[str, Any]) -> ApiFacts:
    """The operations of an OpenAPI schema, its OAuth2 password login and its other schemes."""
    routes = [
        _route(method, str(path), operation, spec)
        for path, item in spec.get("paths", {}).items()
        for method, operation in item.items()
        if method in _METHODS and isinstance(operation, dict)
    ]
    token_url = None
    others: list[tuple[str, str]] = []
    for scheme in spec.get("components", {}).get("securitySchemes", {}).values():
        kind = scheme.get("type")
        password_flow = scheme.get("flows", {}).get("password", {})
        if kind == "oauth2" and password_flow.get("tokenUrl") and token_url is None:
            url = str(password_flow["tokenUrl"])
            token_url = url if url.startswith("/") else "/" + url
        elif kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer":
            others.append(("bearer", "Authorization"))
        elif kind == "apiKey" and scheme.get("in") == "header":
            others.append(("api key", str(scheme.get("name", "X-API-Key"))))
    login_paths = {token_url} if token_url else set()
    return ApiFacts(
        routes=tuple(r for r in routes if r.path not in login_paths),
        token_url=token_url,
        other_schemes=tuple(dict.fromkeys(others)),
    )
