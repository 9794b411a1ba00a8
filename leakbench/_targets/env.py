"""How a spawned target learns where its fresh database is.

Every target gets ``DATABASE_URL`` and the libpq variables (``PGHOST``...).
``--app-env NAME=TEMPLATE`` passes the same database under the app's own
variable names and URL forms; the templates are parsed and checked in
:class:`leakbench._settings.EnvTemplate` (placeholders in ``leakbench run --help``).
"""

from __future__ import annotations

from collections.abc import Mapping

from psycopg.conninfo import make_conninfo

from leakbench._settings import EnvTemplate
from leakbench._settings import dsn as dsn_tools

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
