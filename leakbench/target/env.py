"""How a spawned target learns where its fresh database is.

Every target gets ``DATABASE_URL`` and the libpq variables (``PGHOST``...).
``--app-env NAME=TEMPLATE`` passes the same database under the app's own
variable names and URL forms; the template's placeholders are listed in
:data:`PLACEHOLDERS` (and in ``leakbench run --help``).
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass

from psycopg.conninfo import make_conninfo

from leakbench.errors import UsageError
from leakbench.postgres import dsn as dsn_tools

PLACEHOLDERS: dict[str, str] = {
    "url": "postgresql://user:password@host:port/dbname",
    "url+DRIVER": "the same URL for a SQLAlchemy driver, e.g. {url+psycopg} or {url+asyncpg}",
    "dsn": "libpq key=value form: host=... port=... user=... dbname=...",
    "host": "server host",
    "port": "server port",
    "user": "user name",
    "password": "the password as is, empty when there is none",
    "dbname": "the fresh database's name",
}
_PLAIN_FIELDS = frozenset(name for name in PLACEHOLDERS if name != "url+DRIVER")
_DRIVER_FIELD = re.compile(r"^url\+([a-z][a-z0-9_]*)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Connection options other than the PG* basics that libpq also reads from the
# environment, so an app built on PGHOST... keeps --dsn's TLS and name settings.
_LIBPQ_VARIABLES = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "application_name": "PGAPPNAME",
    "connect_timeout": "PGCONNECT_TIMEOUT",
}
# Variables leakbench itself sets in the target to reach its probe.
_RESERVED_PREFIX = "LEAKBENCH_"

PLACEHOLDER_HELP = (
    "Placeholders: "
    + ", ".join(f"{{{name}}} ({meaning})" for name, meaning in PLACEHOLDERS.items())
    + "; write {{ and }} for literal braces."
)


@dataclass(frozen=True, slots=True)
class EnvTemplate:
    """One ``--app-env NAME=TEMPLATE``: a variable the target gets, built from its database."""

    name: str
    template: str

    def __post_init__(self) -> None:
        shown = f"{self.name}={self.template}"
        if not _ENV_NAME.match(self.name):
            raise UsageError(
                f"--app-env {shown!r} has an invalid variable name {self.name!r}; "
                "use letters, digits and underscores, not starting with a digit."
            )
        if self.name.upper().startswith(_RESERVED_PREFIX):
            raise UsageError(
                f"--app-env {shown!r}: names starting with {_RESERVED_PREFIX} are leakbench's "
                "own; choose another name (pool settings have their own options)."
            )
        for field in self.fields():
            if field not in _PLAIN_FIELDS and not _DRIVER_FIELD.match(field):
                raise UsageError(
                    f"--app-env {shown!r} has an unknown placeholder {{{field}}}; "
                    f"use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}."
                )

    @classmethod
    def parse(cls, text: str) -> EnvTemplate:
        """Parse ``NAME=TEMPLATE`` such as ``ORDERS_DB={url+psycopg}``."""
        name, sep, template = text.partition("=")
        if not sep:
            raise UsageError(
                f"--app-env {text!r} is malformed; write NAME=TEMPLATE such as "
                "'ORDERS_DB={url+psycopg}'."
            )
        return cls(name=name.strip(), template=template)

    def fields(self) -> tuple[str, ...]:
        """The placeholder names in the template, in order; raises UsageError if malformed."""
        return tuple(field for _, field in self._pieces() if field)

    def render(self, values: Mapping[str, str]) -> str:
        """The template with its placeholders filled from :func:`placeholder_values`."""
        out: list[str] = []
        for literal, field in self._pieces():
            out.append(literal)
            if field:
                out.append(_lookup(values, field))
        return "".join(out)

    def _pieces(self) -> list[tuple[str, str]]:
        shown = f"{self.name}={self.template}"
        try:
            parsed = list(string.Formatter().parse(self.template))
        except ValueError as exc:
            raise UsageError(
                f"--app-env {shown!r} has unbalanced braces ({exc}); "
                "write {{ and }} for literal braces."
            ) from None
        pieces: list[tuple[str, str]] = []
        for literal, field, spec, conversion in parsed:
            if field is not None and (spec or conversion):
                raise UsageError(
                    f"--app-env {shown!r}: placeholders take no format or conversion "
                    f"({field}{'!' + conversion if conversion else ''}"
                    f"{':' + spec if spec else ''}); write the bare name such as {{url}}."
                )
            if field == "":
                raise UsageError(
                    f"--app-env {shown!r} has an empty placeholder {{}}; name one such as {{url}}."
                )
            pieces.append((literal, field or ""))
        return pieces


def _lookup(values: Mapping[str, str], field: str) -> str:
    driver = _DRIVER_FIELD.match(field)
    if driver:
        url = values["url"]
        return f"postgresql+{driver.group(1)}" + url[url.index("://") :]
    return values[field]


def placeholder_values(params: Mapping[str, str]) -> dict[str, str]:
    """The plain placeholders' values for a database given as libpq parameters."""
    return {
        "url": dsn_tools.to_url(dict(params)),
        "dsn": make_conninfo(**params),
        "host": params.get("host", "127.0.0.1"),
        "port": params.get("port", "5432"),
        "user": params.get("user", ""),
        "password": params.get("password", ""),
        "dbname": params.get("dbname", ""),
    }


def database_environment(
    params: Mapping[str, str], templates: tuple[EnvTemplate, ...] = ()
) -> dict[str, str]:
    """DATABASE_URL, the PG* variables, then the ``--app-env`` ones (which may override them).

    Every connection option of the DSN (``sslmode``, ``sslrootcert``,
    ``application_name``...) stays in the URL's query and in ``{dsn}``.
    """
    values = placeholder_values(params)
    env = {
        "DATABASE_URL": values["url"],
        "PGHOST": values["host"],
        "PGPORT": values["port"],
        "PGUSER": values["user"],
        "PGDATABASE": values["dbname"],
    }
    if values["password"]:
        env["PGPASSWORD"] = values["password"]
    for option, variable in _LIBPQ_VARIABLES.items():
        if option in params:
            env[variable] = params[option]
    for template in templates:
        env[template.name] = template.render(values)
    return env
