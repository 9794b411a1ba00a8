"""``--login``: get a bearer token from the app before its load, once per target process.

The login request is sent after the target answers and before the row's
baseline, so the connection it opens is part of the baseline, not a leak.
A failed login stops the run before any load: every request after it would
be a 401 and the row could not be judged.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2

from leakbench._settings.requests import Login, RequestSettings
from leakbench.errors import RunError

_SHOWN_ANSWER_CHARS = 160


class LoginError(RunError):
    """The --login request failed or its answer held no token."""


def request_headers(
    settings: RequestSettings, base_url: str, timeout: float
) -> tuple[tuple[str, str], ...]:
    """The headers every request of the row carries: the user's, then the login's bearer token."""
    headers = tuple(header.resolved() for header in settings.headers)
    if settings.login is None:
        return headers
    token = log_in(settings.login, base_url, headers, timeout)
    kept = tuple((name, value) for name, value in headers if name.lower() != "authorization")
    return (*kept, ("Authorization", f"Bearer {token}"))


def log_in(
    login: Login, base_url: str, headers: tuple[tuple[str, str], ...], timeout: float
) -> str:
    """Send the login request; return the token from its JSON answer or raise LoginError."""
    content, content_type = login.content()
    sent = dict(headers)
    if content_type is not None:
        sent["Content-Type"] = content_type
    try:
        with httpx2.Client(timeout=timeout, trust_env=False) as client:
            response = client.request(
                login.method, base_url + login.path, content=content, headers=sent
            )
    except httpx2.HTTPError as exc:
        raise LoginError(f"--login {login.label} got no answer ({exc}).") from None
    if not response.is_success:
        raise LoginError(
            f"--login {login.label} answered {response.status_code}: "
            f"{_start(response.text)}; check the login form or body and the app's set-up."
        )
    try:
        answer = response.json()
    except json.JSONDecodeError:
        raise LoginError(
            f"--login {login.label} answered {response.status_code} but not with JSON: "
            f"{_start(response.text)}."
        ) from None
    token = _field(answer, login.token_field)
    if not isinstance(token, str) or not token:
        fields = ", ".join(sorted(answer)) if isinstance(answer, dict) else type(answer).__name__
        raise LoginError(
            f"--login {login.label}: the answer has no text field {login.token_field!r} "
            f"(it has: {fields}); name the token's field with --login-token-field."
        )
    return token


def _field(answer: Any, path: str) -> Any:
    """``access_token`` or a dotted path such as ``data.token``."""
    value = answer
    for key in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _start(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > _SHOWN_ANSWER_CHARS:
        flat = flat[: _SHOWN_ANSWER_CHARS - 1] + "…"
    return flat or "(empty answer)"
