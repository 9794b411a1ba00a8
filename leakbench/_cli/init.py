"""``leakbench init``: read the app in the current folder and write its ``[tool.leakbench]``."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from leakbench._cli.base import exit_on_error
from leakbench._scaffold.discover import AppCandidate
from leakbench._scaffold.plan import Plan, make_plan
from leakbench._scaffold.section import build, render, write

EPILOG = (
    "Reads the app's source (its FastAPI object, the settings' environment variables, "
    "alembic.ini, a seed module) and imports it once for its OpenAPI schema (routes, "
    "security schemes). Asks nothing when not at a terminal.\n\n"
    "Exit codes: 0 written or printed; 2 no app found, or the settings exist already "
    "(pass --force)."
)


def _at_terminal() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


def _choose(candidates: Sequence[AppCandidate]) -> AppCandidate:
    """At a terminal, ask which app; elsewhere take the first (main.py first) and say so."""
    if _at_terminal():
        for number, candidate in enumerate(candidates, 1):
            typer.echo(f"  {number}. {candidate.target}  ({candidate.file})", err=True)
        number = int(typer.prompt("Which app?", default=1, type=int, err=True))
        chosen: AppCandidate = candidates[min(max(number, 1), len(candidates)) - 1]
        return chosen
    others = ", ".join(candidate.target for candidate in candidates[1:])
    typer.echo(
        f"{len(candidates)} apps found; using the first (--app chooses; others: {others})", err=True
    )
    return candidates[0]


def _summary(plan: Plan) -> list[str]:
    where = f" ({plan.app_file})" if plan.app_file else ""
    lines = [f"app: {plan.app}{where}"]
    if plan.api is None:
        lines.append(f"routes: none ({plan.schema_error})")
    else:
        lines.append(
            f"routes: {len(plan.api.routes)} operation(s) in its OpenAPI schema, "
            f"{len(plan.mix())} loaded as they are"
        )
        if plan.api.token_url:
            how = "as the first user its seed makes" if plan.login_credentials else "commented out"
            lines.append(f"login: OAuth2 password, POST {plan.api.token_url} ({how})")
    database = plan.project.database_env()
    names = ", ".join(name for name, _ in database)
    found = f"{names} ({plan.project.database_source()})" if database else "no variable found"
    lines.append(f"database: {found}")
    commands = ["alembic upgrade head"] if plan.project.alembic else []
    commands += [f"python -m {module}" for module in plan.project.seed_modules]
    lines.append(f"set-up: {'; '.join(commands) or 'none found'}")
    return lines


def init_command(
    app: Annotated[
        str | None,
        typer.Option(
            "--app",
            metavar="APP",
            help="The app, 'pkg.module:app' or 'path/to/main.py:app' (found by itself otherwise).",
            show_default=False,
        ),
    ] = None,
    print_only: Annotated[
        bool,
        typer.Option(
            "--print", metavar="", help="Print the section instead of writing pyproject.toml."
        ),
    ] = False,
    force: Annotated[
        bool,
        typer.Option("--force", metavar="", help="Replace an existing \\[tool.leakbench] section."),
    ] = False,
) -> None:
    """Write a commented \\[tool.leakbench] section for the app in this folder."""

    def init() -> int:
        folder = Path.cwd()
        plan = make_plan(folder, app, _choose)
        section = build(plan)
        for line in _summary(plan):
            typer.echo(line, err=True)
        if print_only:
            typer.echo(render(section), nl=False)
            return 0
        if _at_terminal():
            typer.echo(render(section), nl=False)
            if not typer.confirm("Write this to pyproject.toml?", default=True, err=True):
                return 0
        path = write(folder, section, force=force)
        typer.echo(f"Wrote [tool.leakbench] to {path.name}. Next: leakbench run", err=True)
        return 0

    exit_on_error(init)
