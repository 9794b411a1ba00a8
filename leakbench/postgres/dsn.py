"""Parsing, rewriting and redacting PostgreSQL connection strings.

A DSN may hold a password; every string that leaves this module for a
human (logs, tables, reports, exceptions) goes through :func:`redact`.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlunsplit

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from leakbench.errors import UsageError

_URL_SCHEMES = ("postgresql", "postgres")
_PASSWORD_KV = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
_URL_USERINFO = re.compile(r"(://[^:/@\s]*:)([^@\s]*)(@)")
REDACTED = "***"


def redact(text: str) -> str:
    """Return ``text`` with every password in a URL or key=value DSN masked."""
    text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}{m.group(3)}", text)
    return _PASSWORD_KV.sub(lambda m: f"{m.group(1)}{REDACTED}", text)


def validate(dsn: str) -> dict[str, str]:
    """Parse ``dsn`` (URL or key=value) into libpq parameters, or raise UsageError."""
    stripped = dsn.strip()
    if not stripped:
        raise UsageError("The DSN is empty; pass --dsn postgresql://user:pass@host:port/dbname.")
    if "://" in stripped:
        scheme = stripped.split("://", 1)[0].lower()
        if scheme not in _URL_SCHEMES:
            raise UsageError(
                f"The DSN scheme {scheme!r} is not PostgreSQL's; "
                "use postgresql://user:pass@host:port/dbname."
            )
    try:
        params = conninfo_to_dict(stripped)
    except psycopg.ProgrammingError as exc:
        raise UsageError(
            f"The DSN {redact(stripped)!r} is malformed ({redact(str(exc)).strip()}); "
            "use postgresql://user:pass@host:port/dbname."
        ) from None
    port = params.get("port")
    if port is not None and not str(port).isdigit():
        raise UsageError(
            f"The DSN {redact(stripped)!r} has a non-numeric port {port!r}; give a port number."
        )
    return {key: str(value) for key, value in params.items() if value is not None}


def with_database(dsn: str, dbname: str) -> str:
    """Return ``dsn`` in key=value form pointing at ``dbname`` instead."""
    params = validate(dsn)
    params["dbname"] = dbname
    return make_conninfo(**params)


def to_url(params: dict[str, str], scheme: str = "postgresql") -> str:
    """Build a ``scheme://`` URL (e.g. for an app's DATABASE_URL) from libpq parameters."""
    user = quote(params.get("user", ""), safe="")
    password = params.get("password")
    userinfo = user + (f":{quote(password, safe='')}" if password else "")
    host = params.get("host", "127.0.0.1")
    query = ""
    if host.startswith("/"):
        # A Unix socket directory cannot go in the netloc; libpq takes it as ?host=.
        query = f"host={quote(host, safe='/')}"
        host = ""
    port = params.get("port")
    netloc = f"{userinfo}@{host}" if userinfo else host
    if port:
        netloc += f":{port}"
    path = "/" + quote(params.get("dbname", ""), safe="")
    return urlunsplit((scheme, netloc, path, query, ""))


def describe(dsn: str) -> str:
    """A short, password-free description such as ``postgres@127.0.0.1:5432/app``."""
    try:
        params = validate(dsn)
    except UsageError:
        return redact(dsn)
    host = params.get("host", "localhost")
    port = params.get("port", "5432")
    return f"{params.get('user', '')}@{host}:{port}/{params.get('dbname', '')}"
