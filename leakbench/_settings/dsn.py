"""Parsing, rewriting and redacting PostgreSQL connection strings.

A DSN may hold a password: :func:`validate` remembers it for the one
redaction path (:mod:`leakbench._redaction`), and a DSN that cannot be parsed is
never echoed, since where its password ends is then unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from leakbench import _redaction as redaction
from leakbench._redaction import REDACTED, redact
from leakbench.errors import UsageError

__all__ = ["REDACTED", "describe", "redact", "to_url", "validate", "with_database"]

_URL_SCHEMES = ("postgresql", "postgres")


def _remember_unparsed(dsn: str) -> None:
    """A DSN libpq cannot parse: mask it whole, and every piece its password may be."""
    redaction.remember(dsn)
    _, _, rest = dsn.partition("://")
    userinfo = rest.rpartition("@")[0]
    if userinfo:
        password = userinfo.partition(":")[2]
        redaction.remember(password)
        for piece in password.replace("@", " ").split():
            redaction.remember(piece)
    for word in dsn.split():
        if word.lower().startswith("password="):
            redaction.remember(word.partition("=")[2].strip("'"))


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
    except psycopg.ProgrammingError:
        # Neither the DSN nor libpq's message (which quotes parts of it) is shown:
        # with an unencoded space or "@" in it, no pattern knows where the password ends.
        _remember_unparsed(stripped)
        raise UsageError(
            "The DSN cannot be parsed; percent-encode special characters in the password "
            "(a space is %20, '@' is %40, ':' is %3A) and use "
            "postgresql://user:pass@host:port/dbname."
        ) from None
    if "@" in str(params.get("host") or ""):
        # libpq splits "user:p@ss@host" at the first "@": the password's tail becomes the host.
        _remember_unparsed(stripped)
        raise UsageError(
            "The DSN's host contains '@'; percent-encode '@' in the password as %40 "
            "(postgresql://user:p%40ss@host:port/dbname)."
        )
    redaction.remember(str(params.get("password") or ""))
    port = params.get("port")
    if port is not None and not str(port).isdigit():
        # A password with an unencoded "@" or ":" makes part of it look like the port.
        if "://" not in stripped:  # key=value: the port is its own word, no piece of a password
            raise UsageError(f"The DSN has a non-numeric port {port!r}; give a port number.")
        _remember_unparsed(stripped)
        raise UsageError(
            "The DSN has a non-numeric port; give a port number, and percent-encode special "
            "characters in the password ('/' is %2F, '@' is %40, ':' is %3A)."
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
