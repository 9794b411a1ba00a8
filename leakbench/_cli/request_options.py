"""The options of ``leakbench run`` that say what its load sends, and ``--all-routes``.

Endpoints, bodies and forms, headers, a weighted mix and a login first, then
every route of the app's OpenAPI schema with what narrows it. ``matrix`` takes
them too (it takes every option of ``run``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leakbench._cli.options import REQUESTS
from leakbench._settings import defaults
from leakbench._settings.requests import Route

Endpoint = Annotated[
    list[str] | None,
    typer.Option(
        "--endpoint",
        "-e",
        metavar="'METHOD /PATH'",
        help="Route to load, 'METHOD /path' (a bare path means "
        "POST). Repeatable. Default: the scenario's /ok and /error.",
        rich_help_panel=REQUESTS,
        show_default=False,
    ),
]
Body = Annotated[
    str | None,
    typer.Option(
        metavar="BODY",
        help="Body sent with each request (POST/PUT/PATCH of a mix). {n} (a request "
        "counter) and {uuid} vary it per request. "
        f"[default: '{defaults.BODY.decode()}']",
        rich_help_panel=REQUESTS,
        show_default=False,
    ),
]
BodyFile = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE",
        help="Read the body from this file.",
        rich_help_panel=REQUESTS,
        show_default=False,
    ),
]
Form = Annotated[
    list[str] | None,
    typer.Option(
        "--form",
        metavar="NAME=VALUE",
        help="Send an urlencoded form field instead of a body. Repeatable.",
        rich_help_panel=REQUESTS,
        show_default=False,
    ),
]
ContentType = Annotated[
    str | None,
    typer.Option(
        metavar="TYPE",
        help="Content-Type of the body. [default: application/json; with --form "
        "application/x-www-form-urlencoded]",
        rich_help_panel=REQUESTS,
        show_default=False,
    ),
]
Header = Annotated[
    list[str] | None,
    typer.Option(
        "--header",
        "-H",
        metavar="'NAME: VALUE'",
        help="Header sent with every request, e.g. 'Authorization: Bearer ${API_TOKEN}': "
        "${NAME} is read from the environment when the run starts, so secrets stay out of "
        "the process list; values are redacted in logs and reports. Repeatable.",
        rich_help_panel=REQUESTS,
        show_default=False,
    ),
]


def _mix_route(value: str | Route) -> str | Route:
    """A --mix text, parsed with the other options; a project file's route, checked already."""
    return value


Mix = Annotated[
    list[str] | None,
    typer.Option(
        "--mix",
        parser=_mix_route,
        metavar="'[WEIGHT] METHOD /PATH [BODY]'",
        help="A route of a weighted mix served by one target in one row, e.g. "
        "'3 GET /items/' (or a JSON object like a config table). Repeatable; reported "
        "with counts per route.",
        rich_help_panel=REQUESTS,
        show_default=False,
    ),
]
Login = Annotated[
    str | None,
    typer.Option(
        metavar="'METHOD /PATH'",
        help="Log in first (after each target starts): the JSON answer's token is sent as "
        "'Authorization: Bearer' on every request.",
        rich_help_panel=REQUESTS,
        show_default=False,
    ),
]
LoginForm = Annotated[
    list[str] | None,
    typer.Option(
        metavar="NAME=VALUE",
        help="A form field of the login (OAuth2 password: username=..., password=...); "
        "${NAME} is read from the environment. Repeatable.",
        rich_help_panel=REQUESTS,
        show_default=False,
    ),
]
LoginBody = Annotated[
    str | None,
    typer.Option(
        metavar="JSON",
        help="JSON body of the login instead of a form.",
        rich_help_panel=REQUESTS,
        show_default=False,
    ),
]
LoginTokenField = Annotated[
    str,
    typer.Option(
        metavar="FIELD",
        help="The answer's field holding the token (a.b for nested).",
        rich_help_panel=REQUESTS,
    ),
]

ALL_ROUTES = "Every route (--all-routes)"
AllRoutesFlag = Annotated[
    bool,
    typer.Option(
        "--all-routes",
        metavar="",
        help="Load every operation of the app's OpenAPI schema, each judged in its own row "
        "(short rows on one shared target; docs/all-routes.md).",
        rich_help_panel=ALL_ROUTES,
    ),
]
RouteInclude = Annotated[
    list[str] | None,
    typer.Option(
        "--route-include",
        metavar="GLOB",
        help="Only the routes matching: a glob on 'METHOD /path' or on a tag. Repeatable.",
        rich_help_panel=ALL_ROUTES,
        show_default=False,
    ),
]
RouteExclude = Annotated[
    list[str] | None,
    typer.Option(
        "--route-exclude",
        metavar="GLOB",
        help="Leave out the routes matching: a glob on 'METHOD /path' or on a tag. Repeatable.",
        rich_help_panel=ALL_ROUTES,
        show_default=False,
    ),
]
Destructive = Annotated[
    bool,
    typer.Option(
        "--destructive",
        metavar="",
        help="Load the routes that destroy data (DELETE) too, after all the others.",
        rich_help_panel=ALL_ROUTES,
    ),
]
Isolate = Annotated[
    bool,
    typer.Option(
        "--isolate",
        metavar="",
        help="Give each route a target process of its own (slower); by default the routes "
        "share one, and a route that leaked hands the next a fresh one.",
        rich_help_panel=ALL_ROUTES,
    ),
]
