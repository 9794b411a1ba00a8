"""The one redaction path: every text leakbench shows or writes passes through :func:`redact`.

Two kinds of secret are masked. Passwords in a DSN's shape (``user:pw@host``
in a URL, ``password=pw`` in key=value form) are found by pattern, wherever
they come from. Secrets leakbench was handed (the ``--dsn`` password, header
values read from ``${VAR}``, login fields, ``$PGPASSWORD``) are remembered with
:func:`remember` and masked wherever they appear, as written or in the
escaped forms of the report formats (URL, JSON, HTML/XML), since an app may
print its own ``DATABASE_URL`` or a crash trace holding it.
"""

from __future__ import annotations

import html
import json
import os
import re
import threading
from typing import Any
from urllib.parse import quote

REDACTED = "***"
# Shorter values are too likely to be ordinary words or numbers of the output to mask
# everywhere; a DSN-shaped password of any length is still masked by pattern.
_SHORTEST_SECRET = 6
_PASSWORD_KV = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
# user:password@ in a URL; the password runs to the last "@" of the authority,
# since an unencoded "@" in a password is a common mistake that must not leak its tail.
_URL_USERINFO = re.compile(r"(://[^:/@\s]*:)(\S*)(@)")

_known: set[str] = set()
_lock = threading.Lock()


def remember(secret: str | None) -> None:
    """Mask ``secret`` (and its escaped forms) in everything shown or written from now on."""
    if not secret or len(secret) < _SHORTEST_SECRET:
        return
    forms = {
        secret,
        quote(secret, safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
        html.escape(secret, quote=False),
    }
    with _lock:
        _known.update(form for form in forms if len(form) >= _SHORTEST_SECRET)


def forget_all() -> None:
    """Forget the remembered secrets (for a new run in the same process)."""
    with _lock:
        _known.clear()


def _known_secrets() -> list[str]:
    with _lock:
        known = set(_known)
    from_env = os.environ.get("PGPASSWORD")
    if from_env and len(from_env) >= _SHORTEST_SECRET:
        known.add(from_env)
    # Longest first: a secret that contains another is masked whole.
    return sorted(known, key=len, reverse=True)


def redact_data(data: Any) -> Any:
    """``data`` (JSON-shaped: dicts, lists, strings, numbers) with every string redacted.

    JSON is redacted before it is serialised: masking its text could cut into a
    number or an escape and leave a file no parser reads.
    """
    if isinstance(data, str):
        return redact(data)
    if isinstance(data, dict):
        return {redact(str(key)): redact_data(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [redact_data(value) for value in data]
    return data


def redact(text: str) -> str:
    """``text`` with every password in a DSN's shape and every remembered secret masked."""
    text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(3)}", text)
    text = _PASSWORD_KV.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    for secret in _known_secrets():
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text
