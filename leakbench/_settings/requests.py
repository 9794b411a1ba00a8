"""What the load sends: routes, headers, bodies, forms, a weighted mix and a login first.

Pure, validated values built from the command line or the project config;
:mod:`leakbench._load.requests` turns them into HTTP requests at run time.

Two kinds of placeholder, never confused:

- ``${NAME}`` in a header value or a login field names an environment
  variable, read when the run starts, so a secret never appears in the
  process list, a log or a report (header values are redacted there);
- ``{n}`` (a per-row request counter, from 1) and ``{uuid}`` (a fresh
  UUID4) in a path or a body vary every request, so create routes do not
  collide on unique keys.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlencode

from leakbench import _redaction as redaction
from leakbench._settings.clients import AbortSpec, ClientBehaviour, StreamLimit, WebSocketSpec
from leakbench.errors import UsageError

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# A WebSocket route: "WS /path" (leakbench._settings.clients.WebSocketSpec says what is sent).
WS_METHOD = "WS"
_ROUTE_METHODS = (*HTTP_METHODS, WS_METHOD)
# Methods whose requests carry the row's default body unless a route gives its own.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
VARIATIONS = ("{n}", "{uuid}")
JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"
DEFAULT_TOKEN_FIELD = "access_token"  # noqa: S105 - a JSON field's name, not a password
DEFAULT_BODY = b'{"name": "test"}'
_PATH_CHARS = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/?{}\-]*$")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# RFC 9110 token characters: what a header name may be made of.
_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Set by leakbench itself; a user's value would be sent twice or break framing.
_RESERVED_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
REDACTED = "***"


def parse_method_path(text: str, option: str) -> tuple[str, str]:
    """``"POST /orders"``, ``"/orders"`` (POST) or ``"ok"`` (POST /ok), validated."""
    parts = text.split()
    if len(parts) == 1 and parts[0].upper() in _ROUTE_METHODS:
        # 'POST' alone is a path forgotten far more often than a route named /post.
        raise UsageError(
            f"{option} {text!r} names a method but no path; write 'METHOD /path' such as "
            f"'{parts[0].upper()} /orders' (or 'POST /{parts[0]}' for a route of that name)."
        )
    if len(parts) == 1:
        method, path = "POST", parts[0]
    elif len(parts) == 2:
        method, path = parts[0].upper(), parts[1]
    else:
        raise UsageError(
            f"{option} {text!r} is malformed; write 'METHOD /path' such as 'POST /orders'."
        )
    if method not in _ROUTE_METHODS:
        raise UsageError(
            f"{option} {text!r} has an unknown method {method!r}; "
            f"use one of {', '.join(_ROUTE_METHODS)}."
        )
    if not path.startswith("/"):
        path = "/" + path
    if not _PATH_CHARS.match(path):
        raise UsageError(
            f"{option} {text!r} has an invalid path {path!r}; "
            "give an absolute URL path such as /orders (a query string may follow)."
        )
    return method, path


def env_references(text: str) -> list[str]:
    """The names of the ``${NAME}`` variables ``text`` refers to."""
    return _ENV_REF.findall(text)


def expand_env(text: str, option: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with each ``${NAME}`` replaced by its value; a missing variable is an error."""
    env = os.environ if environ is None else environ

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise UsageError(
                f"{option} refers to ${{{name}}}, but the environment variable {name} is not "
                f"set; export it before running leakbench."
            )
        # A value read from the environment is a secret more often than not.
        redaction.remember(env[name])
        return env[name]

    return _ENV_REF.sub(value, text)


def varies(data: str | bytes) -> bool:
    """Whether a path or body holds ``{n}`` or ``{uuid}``, so it changes every request."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    return any(token in text for token in VARIATIONS)


# Headers whose literal values are credentials too (a variable's value always counts).
_SECRET_HEADER = re.compile(r"auth|cookie|token|key|secret|pass|session", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Header:
    """One ``-H "Name: value"``; the value may name environment variables (``${TOKEN}``)."""

    name: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Header:
        name, colon, value = text.partition(":")
        name, value = name.strip(), value.strip()
        if not colon or not _HEADER_NAME.match(name):
            raise UsageError(
                f"--header {_shown_header(text)!r} is malformed; write 'Name: value' such as "
                "'Authorization: Bearer ${API_TOKEN}'."
            )
        if "\r" in value or "\n" in value:
            raise UsageError(f"--header {name}: the value has a line break; give one line.")
        if name.lower() in _RESERVED_HEADERS:
            raise UsageError(
                f"--header {name} is set by leakbench itself; drop it (the body's length and "
                "the connection are managed per request)."
            )
        return cls(name, value)

    def resolved(self, environ: Mapping[str, str] | None = None) -> tuple[str, str]:
        """The name and the value with its ``${NAME}`` variables read from the environment.

        A variable's value is checked as a literal one is: a line break in it
        would end the header and start one of the value's own choosing.
        """
        value = expand_env(self.value, f"--header {self.name}", environ)
        if _SECRET_HEADER.search(self.name):
            redaction.remember(value)
        if any(char in value for char in "\r\n\0"):
            names = ", ".join(f"${{{name}}}" for name in env_references(self.value))
            raise UsageError(
                f"--header {self.name}: the value read from {names} has a line break or NUL "
                "character; a header value must be one line (strip the variable's newline)."
            )
        return self.name, value

    @property
    def redacted(self) -> str:
        """How logs and reports show it: the name only, never the value."""
        return f"{self.name}: {REDACTED}"


def _shown_header(text: str) -> str:
    # A malformed header may still hold a secret after its first word: show the start only.
    return text if len(text) <= 24 else text[:24] + "…"


def parse_pairs(items: Iterable[str], option: str) -> tuple[tuple[str, str], ...]:
    """``name=value`` items (repeatable options) as pairs, in order."""
    pairs: list[tuple[str, str]] = []
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"{option} {name.strip() or item!r} is malformed; write name=value.")
        pairs.append((name.strip(), value))
    return tuple(pairs)


def encode_form(pairs: Iterable[tuple[str, str]]) -> bytes:
    """An ``application/x-www-form-urlencoded`` body; ``{n}`` and ``{uuid}`` stay as they are."""
    text = urlencode(list(pairs))
    for token in VARIATIONS:
        text = text.replace(quote_plus(token), token)
    return text.encode("ascii")


@dataclass(frozen=True, slots=True)
class Route:
    """One request of the load: a method and path (query allowed), its body and its weight.

    ``body`` None means the row's default body for POST/PUT/PATCH and none for
    other methods; ``content_type`` None means the row's content type.
    """

    method: str
    path: str
    body: bytes | None = None
    content_type: str | None = None
    weight: int = 1
    # Clients of this route that leave early; None: the row's (--abort, --stream-read, --hold).
    client: ClientBehaviour | None = None
    # A WS route's own session (ws-send, ws-receive, ws-drop); None: the row's.
    websocket: WebSocketSpec | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.weight <= 1000:
            raise UsageError(
                f"--mix {self.label!r} has weight {self.weight}; give a whole number, 1 to 1000."
            )

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @classmethod
    def parse_mix(cls, text: str) -> Route:
        """``"3 GET /items/"``, ``"POST /items/ {json}"``, or a JSON object like a config table."""
        raw = text.strip()
        if raw.startswith("{"):
            try:
                table = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise UsageError(f"--mix {raw[:40]!r} is not valid JSON ({exc.msg}).") from None
            if not isinstance(table, dict):
                raise UsageError(f"--mix {raw[:40]!r} must be a JSON object.")
            return cls.from_table(table)
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
        return cls(method, path, _default_body(method, body), content_type, weight)

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> Route:
        """A route from a config table: method, path, weight, body (text or table), form."""
        known = {
            "method",
            "path",
            "weight",
            "body",
            "form",
            "content-type",
            "abort",
            "stream-read",
            "hold",
            "ws-send",
            "ws-receive",
            "ws-drop",
        }
        unknown = sorted(set(table) - known)
        if unknown:
            raise UsageError(
                f"mix: unknown key {unknown[0]!r}; a route takes {', '.join(sorted(known))}."
            )
        path = table.get("path")
        method = str(table.get("method", "GET"))
        weight = table.get("weight", 1)
        if not isinstance(path, str) or not isinstance(weight, int) or isinstance(weight, bool):
            raise UsageError("mix: each route needs a text 'path' and a whole-number 'weight'.")
        method, path = parse_method_path(f"{method} {path}", "mix")
        body_value, form = table.get("body"), table.get("form")
        if body_value is not None and form is not None:
            raise UsageError(f"mix {method} {path}: give 'body' or 'form', not both.")
        body: bytes | None
        content_type = table.get("content-type")
        if isinstance(form, Mapping):
            body = encode_form((str(k), str(v)) for k, v in form.items())
            content_type = content_type or FORM_TYPE
        elif isinstance(body_value, str):
            body = body_value.encode()
        elif isinstance(body_value, Mapping | list):
            body = json.dumps(body_value).encode()
            content_type = content_type or JSON_TYPE
        elif body_value is None and form is None:
            body = None
        else:
            raise UsageError(
                f"mix {method} {path}: 'body' must be text or a table, 'form' a table."
            )
        if content_type is not None and not isinstance(content_type, str):
            raise UsageError(f"mix {method} {path}: 'content-type' must be text.")
        client = _route_client(table, f"mix {method} {path}")
        websocket = _route_websocket(table, f"mix {method} {path}")
        body = _default_body(method, body)
        return cls(method, path, body, content_type, weight, client, websocket)


def _route_client(table: Mapping[str, Any], where: str) -> ClientBehaviour | None:
    """A mix route's own abort, stream-read and hold, or None when it sets none."""
    abort, stream_read, hold = table.get("abort"), table.get("stream-read"), table.get("hold")
    if abort is None and stream_read is None and hold is None:
        return None
    if abort is not None and not isinstance(abort, str):
        raise UsageError(f"{where}: 'abort' must be text such as '20%' or '50%@30ms'.")
    if stream_read is not None and not isinstance(stream_read, str | int):
        raise UsageError(f"{where}: 'stream-read' must be bytes (4096, '64KB') or '2s'.")
    if hold is not None and (not isinstance(hold, int | float) or isinstance(hold, bool)):
        raise UsageError(f"{where}: 'hold' must be a number of seconds.")
    return ClientBehaviour(
        abort=AbortSpec.parse(abort, f"{where}: abort") if abort is not None else None,
        stream_read=(
            StreamLimit.parse(str(stream_read), f"{where}: stream-read")
            if stream_read is not None
            else None
        ),
        hold=float(hold) if hold is not None else None,
    )


def _route_websocket(table: Mapping[str, Any], where: str) -> WebSocketSpec | None:
    """A WS route's own session, or None when it sets none of ws-send, ws-receive, ws-drop."""
    keys = ("ws-send", "ws-receive", "ws-drop")
    if all(table.get(key) is None for key in keys):
        return None
    message, receive, drop = (table.get(key) for key in keys)
    default = WebSocketSpec()
    if message is not None and not isinstance(message, str):
        raise UsageError(f"{where}: 'ws-send' must be text.")
    if receive is not None and (not isinstance(receive, int) or isinstance(receive, bool)):
        raise UsageError(f"{where}: 'ws-receive' must be a whole number.")
    if drop is not None and not isinstance(drop, bool):
        raise UsageError(f"{where}: 'ws-drop' must be true or false.")
    return WebSocketSpec(
        message=message if message is not None else default.message,
        receive=receive if receive is not None else default.receive,
        drop=drop if drop is not None else default.drop,
    )


def _default_body(method: str, body: bytes | None) -> bytes | None:
    return b"" if body is None and method not in BODY_METHODS else body


@dataclass(frozen=True, slots=True)
class Login:
    """``--login``: a request sent once per target process, whose JSON answer holds a token."""

    method: str
    path: str
    form: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    token_field: str = DEFAULT_TOKEN_FIELD

    def __post_init__(self) -> None:
        if self.form and self.body is not None:
            raise UsageError("Give --login-form or --login-body, not both.")
        if not self.token_field.strip():
            raise UsageError("--login-token-field is empty; name the answer's token field.")

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def content(self, environ: Mapping[str, str] | None = None) -> tuple[bytes, str | None]:
        """The body and its content type, with ``${NAME}`` variables read now."""
        if self.form:
            pairs = [(k, expand_env(v, f"--login-form {k}", environ)) for k, v in self.form]
            return encode_form(pairs), FORM_TYPE
        if self.body is not None:
            return expand_env(self.body, "--login-body", environ).encode(), JSON_TYPE
        return b"", None

    def references(self) -> list[str]:
        texts = [v for _, v in self.form] + ([self.body] if self.body is not None else [])
        return [name for text in texts for name in env_references(text)]


@dataclass(frozen=True, slots=True)
class RequestSettings:
    """Headers, the default body's type, a route mix and a login, shared by every row."""

    headers: tuple[Header, ...] = ()
    content_type: str = JSON_TYPE
    mix: tuple[Route, ...] = ()
    login: Login | None = None

    def check_environment(self, environ: Mapping[str, str] | None = None) -> None:
        """Fail before anything starts when a ``${NAME}`` is not set."""
        for header in self.headers:
            header.resolved(environ)
        if self.login is not None:
            self.login.content(environ)

    @property
    def redacted_headers(self) -> tuple[str, ...]:
        return tuple(header.redacted for header in self.headers)

    @property
    def mix_label(self) -> str:
        return f"mix ({len(self.mix)} route{'s' if len(self.mix) != 1 else ''})"


def from_options(
    *,
    headers: Iterable[str] = (),
    form: Iterable[str] = (),
    body: str | None = None,
    body_file: Path | None = None,
    content_type: str | None = None,
    mix: Iterable[str] = (),
    login: str | None = None,
    login_form: Iterable[str] = (),
    login_body: str | None = None,
    login_token_field: str = DEFAULT_TOKEN_FIELD,
) -> tuple[bytes | None, RequestSettings]:
    """The default body and the request settings, from ``leakbench run``'s options."""
    form_pairs = parse_pairs(form, "--form")
    given = [name for name, value in (("--body", body), ("--body-file", body_file)) if value]
    if form_pairs:
        given.append("--form")
    if len(given) > 1:
        raise UsageError(f"{' and '.join(given)} both give the body; give one of them.")
    default_type = JSON_TYPE
    data: bytes | None
    if body_file is not None:
        try:
            data = body_file.read_bytes()
        except OSError as exc:
            raise UsageError(f"--body-file {body_file}: cannot read it ({exc.strerror}).") from None
    elif form_pairs:
        data, default_type = encode_form(form_pairs), FORM_TYPE
    else:
        # None: the run's default, {"name": "test"} for POST, PUT and PATCH only.
        data = body.encode() if body is not None else None
    login_spec = None
    if login is not None:
        method, path = parse_method_path(login, "--login")
        login_spec = Login(
            method,
            path,
            form=parse_pairs(login_form, "--login-form"),
            body=login_body,
            token_field=login_token_field,
        )
    elif list(login_form) or login_body is not None:
        raise UsageError("--login-form and --login-body need --login 'POST /path/to/login'.")
    settings = RequestSettings(
        headers=tuple(Header.parse(text) for text in headers),
        content_type=content_type or default_type,
        mix=tuple(Route.parse_mix(text) for text in mix),
        login=login_spec,
    )
    return data, settings
