"""The requests that call an operation: known ids and the schema's examples first, then
valid values generated from its JSON schemas.

Generation is jsf's (JSON Schema Faker, a maintained library): each value is
checked against its schema with jsonschema, and one that does not validate is
kept only when no valid one came (the app then says 422, which is reported).
docs/all-routes.md says why jsf and not hypothesis-jsonschema.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from leakbench._openapi.operations import MISSING, Body, Json, JsonObject, Operation, Parameter

JSON_TYPE = "application/json"
_COMPONENTS_REF = "#/components/schemas/"
_DEFS_REF = "#/$defs/"


@dataclass(frozen=True, slots=True)
class Call:
    """One concrete request to an operation: its path with query, body and type."""

    path: str
    body: bytes | None = None
    content_type: str | None = None


def calls(
    operation: Operation, definitions: JsonObject, known: Mapping[str, Json], tries: int = 3
) -> tuple[Call, ...]:
    """Up to ``tries`` different requests: known values and examples first, then generated."""
    found: list[Call] = []
    for attempt in range(tries):
        path = _path(operation, definitions, known, attempt)
        body = _body(operation.body, definitions, attempt)
        call = Call(
            path,
            body,
            operation.body.content_type if operation.body is not None and body else None,
        )
        if call not in found:
            found.append(call)
    return tuple(found)


def _path(operation: Operation, definitions: JsonObject, known: Mapping[str, Json], n: int) -> str:
    path = operation.path
    query: list[tuple[str, str]] = []
    for parameter in operation.parameters:
        if parameter.location == "path":
            value = known.get(parameter.name)
            if value is None:
                value = _value(parameter, definitions, n)
            path = path.replace("{" + parameter.name + "}", quote(_text(value), safe=""))
        elif parameter.required or parameter.example is not MISSING:
            value = _value(parameter, definitions, n)
            values = value if isinstance(value, list) else [value]
            query.extend((parameter.name, _text(item)) for item in values if item is not None)
    return f"{path}?{urlencode(query)}" if query else path


def _value(parameter: Parameter, definitions: JsonObject, n: int) -> Json:
    if n == 0 and parameter.example is not MISSING:
        return parameter.example
    return generate(parameter.schema, definitions)


def _body(body: Body | None, definitions: JsonObject, n: int) -> bytes | None:
    if body is None:
        return None
    value = body.example if n == 0 and body.example is not MISSING else None
    if value is None:
        value = generate(body.schema, definitions)
        if n == 0:  # the first try takes every example its fields give
            value = _with_examples(value, body.schema, definitions)
    if body.content_type == JSON_TYPE:
        return json.dumps(value).encode()
    pairs: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            items = item if isinstance(item, list) else [item]
            pairs.extend((str(key), _text(one)) for one in items if one is not None)
    return urlencode(pairs).encode()


def _with_examples(value: Json, schema: JsonObject, definitions: JsonObject) -> Json:
    """``value`` with each property that the schema gives an example for set to it."""
    schema = _deref(schema, definitions)
    properties = schema.get("properties")
    if not isinstance(value, dict) or not isinstance(properties, Mapping):
        return value
    for name, raw in properties.items():
        prop = _deref(raw, definitions)
        example = _example_of(prop)
        if example is not MISSING:
            value[name] = example
        elif name in value:
            value[name] = _with_examples(value[name], prop, definitions)
    return value


def _example_of(schema: JsonObject) -> Json:
    if "example" in schema:
        return schema["example"]
    listed = schema.get("examples")
    return listed[0] if isinstance(listed, list) and listed else MISSING


def _deref(schema: Json, definitions: JsonObject) -> JsonObject:
    for _hop in range(20):
        ref = schema.get("$ref") if isinstance(schema, Mapping) else None
        if not isinstance(ref, str) or not ref.startswith(_COMPONENTS_REF):
            break
        schema = definitions.get(ref.removeprefix(_COMPONENTS_REF), {})
    return schema if isinstance(schema, Mapping) else {}


def _text(value: Json) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def preload() -> None:
    """Import the generator ahead of its first use (it is slow to import)."""
    import jsf  # noqa: PLC0415

    _ = jsf


def generate(schema: JsonObject, definitions: JsonObject) -> Json:
    """A value valid for ``schema`` (its ``$ref`` resolved in ``definitions``), if jsf finds one."""
    # Imported here: Faker's providers take a while to import, and only --all-routes needs them.
    import jsonschema  # noqa: PLC0415
    from jsf import JSF  # noqa: PLC0415

    text = json.dumps({**schema, "$defs": definitions}).replace(_COMPONENTS_REF, _DEFS_REF)
    full = json.loads(text)
    validator = jsonschema.Draft202012Validator(full)
    first: Json = None
    for _attempt in range(5):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                value = JSF(full).generate()
        except Exception:
            return first
        if validator.is_valid(value):
            return value
        first = value if first is None else first
    return first
