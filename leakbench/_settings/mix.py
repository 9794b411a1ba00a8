"""A weighted mix's routes: ``--mix '3 GET /items/'``, ``--mix '{json}'`` or a config table.

A route given as a table (``[[tool.leakbench.mix]]`` in the project file, or
a JSON object after ``--mix``) is validated once, by :class:`MixTable`, and
becomes a :class:`~leakbench._settings.requests.Route` directly: the project
file hands the checked routes to the command line as they are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from leakbench._settings.clients import AbortSpec, ClientBehaviour, StreamLimit, WebSocketSpec
from leakbench._settings.requests import (
    FORM_TYPE,
    JSON_TYPE,
    Route,
    default_body,
    encode_form,
    parse_method_path,
)
from leakbench.errors import UsageError


class MixTable(BaseModel):
    """A route of the mix as a table: its keys are those of ``[[tool.leakbench.mix]]``."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    method: StrictStr = "GET"
    path: StrictStr
    weight: StrictInt = 1
    body: StrictStr | dict[str, Any] | list[Any] | None = None
    form: dict[str, StrictStr | StrictInt | StrictFloat] | None = None
    content_type: StrictStr | None = Field(default=None, alias="content-type")
    # The route's own clients that leave early (leakbench._settings.clients).
    abort: StrictStr | None = None
    stream_read: StrictStr | StrictInt | None = Field(default=None, alias="stream-read")
    hold: StrictFloat | StrictInt | None = None
    ws_send: StrictStr | None = Field(default=None, alias="ws-send")
    ws_receive: StrictInt | None = Field(default=None, alias="ws-receive")
    ws_drop: StrictBool | None = Field(default=None, alias="ws-drop")

    def route(self) -> Route:
        """The route this table describes, or a UsageError naming the bad value."""
        method, path = parse_method_path(f"{self.method} {self.path}", "mix")
        where = f"mix {method} {path}"
        if self.body is not None and self.form is not None:
            raise UsageError(f"{where}: give 'body' or 'form', not both.")
        body: bytes | None
        content_type = self.content_type
        if self.form is not None:
            body = encode_form((str(k), str(v)) for k, v in self.form.items())
            content_type = content_type or FORM_TYPE
        elif isinstance(self.body, str):
            body = self.body.encode()
        elif self.body is not None:
            body = json.dumps(self.body).encode()
            content_type = content_type or JSON_TYPE
        else:
            body = None
        return Route(
            method,
            path,
            default_body(method, body),
            content_type,
            self.weight,
            self._client(where),
            self._websocket(),
        )

    def _client(self, where: str) -> ClientBehaviour | None:
        """The route's own abort, stream-read and hold, or None when it sets none."""
        if self.abort is None and self.stream_read is None and self.hold is None:
            return None
        return ClientBehaviour(
            abort=AbortSpec.parse(self.abort, f"{where}: abort") if self.abort else None,
            stream_read=(
                StreamLimit.parse(str(self.stream_read), f"{where}: stream-read")
                if self.stream_read is not None
                else None
            ),
            hold=float(self.hold) if self.hold is not None else None,
        )

    def _websocket(self) -> WebSocketSpec | None:
        """A WS route's own session, or None when it sets none of ws-send, ws-receive, ws-drop."""
        if self.ws_send is None and self.ws_receive is None and self.ws_drop is None:
            return None
        default = WebSocketSpec()
        return WebSocketSpec(
            message=self.ws_send if self.ws_send is not None else default.message,
            receive=self.ws_receive if self.ws_receive is not None else default.receive,
            drop=self.ws_drop if self.ws_drop is not None else default.drop,
        )


def route_from_table(table: Mapping[str, Any], where: str = "mix") -> Route:
    """A route from a table (a JSON object after ``--mix``), validated by :class:`MixTable`."""
    try:
        checked = MixTable.model_validate(table)
    except ValidationError as exc:
        raise UsageError(f"{where}: {explain(exc)}") from None
    return checked.route()


def explain(exc: ValidationError) -> str:
    """The deepest error of a table's validation, in one clause naming the key."""
    error = max(exc.errors(), key=lambda e: len(e["loc"]))
    keys = {field.alias or name for name, field in MixTable.model_fields.items()}
    if error["type"] == "extra_forbidden":
        return f"unknown key {error['loc'][-1]!r}; a route takes {', '.join(sorted(keys))}."
    location = ".".join(str(part) for part in error["loc"] if part in keys)
    got = error.get("input")
    shown = f" (got {got!r})" if not isinstance(got, dict | list) else ""
    return f"{location}: {error['msg'].lower()}{shown}."


def parse_mix(text: str) -> Route:
    """``"3 GET /items/"``, ``"POST /items/ {json}"``, or a JSON object like a config table."""
    raw = text.strip()
    if raw.startswith("{"):
        try:
            table = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--mix {raw[:40]!r} is not valid JSON ({exc.msg}).") from None
        if not isinstance(table, dict):
            raise UsageError(f"--mix {raw[:40]!r} must be a JSON object.")
        return route_from_table(table, "--mix")
    parts = raw.split(maxsplit=1)
    weight = 1
    if parts and parts[0].isdigit():
        weight, raw = int(parts[0]), parts[1] if len(parts) > 1 else ""
    pieces = raw.split(maxsplit=2)
    if len(pieces) < 2:
        raise UsageError(
            f"--mix {text!r} is malformed; write '[WEIGHT] METHOD /path [BODY]' such as "
            "'3 GET /items/'."
        )
    method, path = parse_method_path(" ".join(pieces[:2]), "--mix")
    body = pieces[2].encode() if len(pieces) == 3 else None
    # A body that opens like JSON is sent as JSON, whatever the row's --form says.
    content_type = JSON_TYPE if body is not None and body[:1] in (b"{", b"[") else None
    return Route(method, path, default_body(method, body), content_type, weight)
