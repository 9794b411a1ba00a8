"""--app-env: the target's environment variables, as templates filled from its database."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass

from leakbench.errors import UsageError

# --app-env: the placeholders a template may use, and what each one stands for.
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
        for name in self.fields():
            if name not in _PLAIN_FIELDS and not _DRIVER_FIELD.match(name):
                raise UsageError(
                    f"--app-env {shown!r} has an unknown placeholder {{{name}}}; "
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
        return tuple(name for _, name in self._pieces() if name)

    def render(self, values: Mapping[str, str]) -> str:
        """The template filled from :func:`leakbench._targets.env.placeholder_values`."""
        out: list[str] = []
        for literal, name in self._pieces():
            out.append(literal)
            if name:
                out.append(_lookup(values, name))
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
        for literal, name, spec, conversion in parsed:
            if name is not None and (spec or conversion):
                raise UsageError(
                    f"--app-env {shown!r}: placeholders take no format or conversion "
                    f"({name}{'!' + conversion if conversion else ''}"
                    f"{':' + spec if spec else ''}); write the bare name such as {{url}}."
                )
            if name == "":
                raise UsageError(
                    f"--app-env {shown!r} has an empty placeholder {{}}; name one such as {{url}}."
                )
            pieces.append((literal, name or ""))
        return pieces


def _lookup(values: Mapping[str, str], field: str) -> str:
    driver = _DRIVER_FIELD.match(field)
    if driver:
        url = values["url"]
        return f"postgresql+{driver.group(1)}" + url[url.index("://") :]
    return values[field]
