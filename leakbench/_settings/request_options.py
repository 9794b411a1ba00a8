"""``leakbench run``'s request options (--header, --body, --form, --mix, --login...) checked.

:func:`from_options` turns them into the run's default body and its
:class:`~leakbench._settings.requests.RequestSettings`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from leakbench._settings.mix import parse_mix
from leakbench._settings.requests import (
    DEFAULT_TOKEN_FIELD,
    FORM_TYPE,
    JSON_TYPE,
    Header,
    Login,
    RequestSettings,
    Route,
    encode_form,
    parse_method_path,
    parse_pairs,
)
from leakbench.errors import UsageError


def from_options(
    *,
    headers: Iterable[str] = (),
    form: Iterable[str] = (),
    body: str | None = None,
    body_file: Path | None = None,
    content_type: str | None = None,
    mix: Iterable[str | Route] = (),
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
        mix=tuple(entry if isinstance(entry, Route) else parse_mix(entry) for entry in mix),
        login=login_spec,
    )
    return data, settings
