"""Parsing, rewriting and redacting PostgreSQL connection strings.

A DSN may hold a password; every string that leaves this module for a
human (logs, tables, reports, exceptions) goes through :func:`redact`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

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


def to_url(params: Mapping[str, str], scheme: str = "postgresql") -> str:
    """A ``scheme://`` URL (e.g. an app's DATABASE_URL) holding every libpq parameter.

    libpq (psycopg) and SQLAlchemy's ``make_url`` both read it back as exactly
    ``params``: options such as ``sslmode``, ``sslrootcert`` or
    ``application_name`` go in the query, an IPv6 host in brackets. Every part
    is percent-encoded: SQLAlchemy's own rendering writes a space as ``+`` in
    the query and leaves it raw in a user name, which libpq reads differently.
    """
    rest = dict(params)
    user, password = rest.pop("user", ""), rest.pop("password", "")
    host, port = rest.pop("host", "127.0.0.1"), rest.pop("port", "")
    dbname = rest.pop("dbname", "")
    query: dict[str, str] = {}
    if host.startswith("/") or "," in host:
        # A Unix socket directory or a host list cannot go in the netloc; libpq
        # (and SQLAlchemy's PostgreSQL dialects) take them from the query.
        query["host"] = host
        if port:
            query["port"] = port
        host = port = ""
    elif ":" in host:
        host = f"[{host}]"  # an IPv6 address
    query.update(rest)
    userinfo = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    netloc = (f"{userinfo}@" if userinfo else "") + host + (f":{port}" if port else "")
    encoded = "&".join(
        f"{quote(key, safe='')}={quote(value, safe='/')}" for key, value in query.items()
    )
    return f"{scheme}://{netloc}/{quote(dbname, safe='')}" + (f"?{encoded}" if encoded else "")


def describe(dsn: str) -> str:
    """A short, password-free description such as ``postgres@127.0.0.1:5432/app``."""
    try:
        params = validate(dsn)
    except UsageError:
        return redact(dsn)
    host = params.get("host", "localhost")
    if ":" in host and not host.startswith("/"):
        host = f"[{host}]"  # an IPv6 address, kept apart from the port
    port = params.get("port", "5432")
    return f"{params.get('user', '')}@{host}:{port}/{params.get('dbname', '')}"
