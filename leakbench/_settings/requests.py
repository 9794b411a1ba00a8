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

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote_plus, urlencode

from leakbench import _redaction as redaction
from leakbench._settings import defaults
from leakbench._settings.clients import ClientBehaviour, WebSocketSpec
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
DEFAULT_TOKEN_FIELD = defaults.LOGIN_TOKEN_FIELD
DEFAULT_BODY = defaults.BODY
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


def default_body(method: str, body: bytes | None) -> bytes | None:
    """No body for a method that takes none; None (the run's default body) otherwise."""
    return b"" if body is None and method not in BODY_METHODS else body


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
