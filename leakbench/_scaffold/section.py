"""The ``[tool.leakbench]`` section ``leakbench init`` writes, as commented TOML.

Written with tomlkit, which keeps the rest of ``pyproject.toml`` (its
comments, its order, its formatting) as it was. Every key is one that
``leakbench run`` reads (a long option of it without the dashes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomlkit
from tomlkit.items import Table

from leakbench._scaffold.plan import THROWAWAY_PASSWORD, THROWAWAY_USER, Plan
from leakbench.errors import UsageError

PYPROJECT = "pyproject.toml"
LEAKBENCH_TOML = "leakbench.toml"
FIRST_CONCURRENCY = 10
FIRST_DURATION = 5


def build(plan: Plan) -> Table:
    """The section, with a comment saying where each value came from."""
    section = tomlkit.table()
    section.add(tomlkit.comment("Written by `leakbench init`; edit freely. Every key is a long"))
    section.add(tomlkit.comment("option of `leakbench run` (leakbench run --help); options on its"))
    section.add(tomlkit.comment("command line override these. Each run gets a fresh database."))
    section.add("app", plan.app)
    if plan.app_file:
        section["app"].comment(plan.app_file)
    _environment(section, plan)
    _setup(section, plan)
    _login(section, plan)
    section.add(tomlkit.comment("Short rows for a first run and a CI step; raise them for more."))
    section.add("concurrency", FIRST_CONCURRENCY)
    section.add("duration", FIRST_DURATION)
    _mix(section, plan)
    return section


def _environment(section: Table, plan: Plan) -> None:
    env = [f"{name}={value}" for name, value in plan.project.database_env()]
    source = plan.project.database_source()
    if env:
        section.add(tomlkit.comment(f"The database the settings read ({source}), filled in by"))
        section.add(tomlkit.comment("leakbench with the fresh one's address."))
    else:
        section.add(tomlkit.comment("No database variable found in the settings: the app gets"))
        section.add(tomlkit.comment("DATABASE_URL and PGHOST...; name yours, e.g."))
        section.add(tomlkit.comment('app-env = ["MY_DATABASE_URL={url+psycopg}"]'))
    credentials = plan.login_credentials
    if credentials:
        user, password = credentials
        section.add(tomlkit.comment(f"{user} and {password}: the first user the seed creates in"))
        section.add(tomlkit.comment("that fresh database only, so the login below can use it."))
        env += [f"{user}={THROWAWAY_USER}", f"{password}={THROWAWAY_PASSWORD}"]
    if env:
        section.add("app-env", _multiline(env))


def _setup(section: Table, plan: Plan) -> None:
    commands = []
    if plan.project.alembic:
        commands.append("alembic upgrade head")
    commands += [f"python -m {module}" for module in plan.project.seed_modules]
    if commands:
        section.add(
            tomlkit.comment("Run in the app's folder, on the fresh database, before it starts.")
        )
        section.add("setup-cmd", commands)


def _login(section: Table, plan: Plan) -> None:
    api = plan.api
    if api is None:
        return
    if api.token_url:
        section.add(
            tomlkit.comment("The app's OAuth2 password login (its OpenAPI security scheme);")
        )
        section.add(tomlkit.comment("the token it answers goes on every request."))
        form = [f"username={THROWAWAY_USER}", f"password={THROWAWAY_PASSWORD}"]
        if plan.login_credentials:
            section.add("login", f"POST {api.token_url}")
            section.add("login-form", form)
        else:
            section.add(tomlkit.comment("No seeded first user was found: give a user that exists"))
            section.add(tomlkit.comment("after setup-cmd, e.g. password=${APP_PASSWORD}."))
            section.add(tomlkit.comment(f'login = "POST {api.token_url}"'))
            section.add(
                tomlkit.comment('login-form = ["username=...", "password=${APP_PASSWORD}"]')
            )
    for kind, header in api.other_schemes:
        section.add(tomlkit.comment(f"The app also takes a {kind} in {header}; to send one:"))
        value = "Bearer ${API_TOKEN}" if header == "Authorization" else "${API_KEY}"
        section.add(tomlkit.comment(f'header = ["{header}: {value}"]'))


def _mix(section: Table, plan: Plan) -> None:
    routes = plan.mix()
    if plan.schema_error:
        section.add(tomlkit.comment(f"No routes: {plan.schema_error}"))
    total = len(plan.api.routes) if plan.api else 0
    if not routes:
        section.add(tomlkit.comment("Add the routes to load as [[tool.leakbench.mix]] tables:"))
        section.add(tomlkit.comment('method = "GET", path = "/items/"'))
        return
    section.add(
        tomlkit.comment(f"The routes callable as they are ({len(routes)} of the schema's {total}")
    )
    section.add(tomlkit.comment("operations), served by one target in one row. Not loaded:"))
    for note in plan.left_out():
        section.add(tomlkit.comment(f"  {note}"))
    mix = tomlkit.aot()
    for route in routes:
        entry = tomlkit.table()
        entry.add("method", route.method)
        entry.add("path", route.path)
        if route.body is not None:
            entry.add("body", _inline(route.body))
        mix.append(entry)
    section.add("mix", mix)


def _multiline(values: list[str]) -> Any:
    array = tomlkit.array()
    array.extend(values)
    return array.multiline(True)


def _inline(body: dict[str, Any]) -> Any:
    table = tomlkit.inline_table()
    table.update(body)
    return table


def render(section: Table) -> str:
    """The section alone, as ``--print`` shows it."""
    document = tomlkit.document()
    tool = tomlkit.table(is_super_table=True)
    tool.add("leakbench", section)
    document.add("tool", tool)
    return tomlkit.dumps(document).strip("\n") + "\n"


def write(folder: Path, section: Table, *, force: bool) -> Path:
    """Put the section into ``folder``'s pyproject.toml, keeping everything else as it was."""
    own = folder / LEAKBENCH_TOML
    if own.is_file():
        raise UsageError(
            f"{own} exists and would be read instead of pyproject.toml; edit it, or remove it "
            "and run leakbench init again (--print shows the section)."
        )
    path = folder / PYPROJECT
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        document = tomlkit.parse(text)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror}).") from None
    except tomlkit.exceptions.ParseError as exc:
        raise UsageError(f"{path} is not valid TOML ({exc}); fix the file first.") from None
    tool = document.get("tool")
    if tool is None:
        tool = tomlkit.table(is_super_table=True)
        document.add("tool", tool)
    elif not isinstance(tool, dict):
        raise UsageError(f"{path}: 'tool' is not a table; fix the file first.")
    if "leakbench" in tool and not force:
        raise UsageError(
            f"{path} already has a [tool.leakbench] section; pass --force to replace it "
            "(--print shows the new one)."
        )
    tool["leakbench"] = section
    path.write_text(tomlkit.dumps(document), encoding="utf-8")
    return path
