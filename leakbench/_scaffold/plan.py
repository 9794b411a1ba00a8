"""What ``leakbench init`` found in a project, and what it makes of it: a :class:`Plan`."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from leakbench._scaffold.discover import AppCandidate, ProjectFacts, read_project
from leakbench._scaffold.openapi import ApiFacts, Route, fetch_schema, read_schema
from leakbench.errors import LeakbenchError, UsageError

# The first user the app's seed makes in leakbench's fresh database, and nowhere else: the
# project's own credentials (its .env, its secrets) are never read or copied.
THROWAWAY_USER = "leakbench@example.com"
THROWAWAY_PASSWORD = "leakbench-throwaway-login"  # noqa: S105 - made for a throwaway database
# What the settings get while the app is imported for its schema: an address, never connected to.
_NO_SERVER = {
    "host": "127.0.0.1",
    "port": "5432",
    "user": "leakbench",
    "password": "",
    "dbname": "leakbench",
}


@dataclass(frozen=True, slots=True)
class Plan:
    """What init found, and what it will write."""

    app: str
    app_file: str | None
    project: ProjectFacts
    api: ApiFacts | None
    schema_error: str | None = None

    @property
    def login_credentials(self) -> tuple[str, str] | None:
        """The settings the seed reads its first user from, when the app has a password login."""
        if self.api is None or self.api.token_url is None or not self.project.seed_modules:
            return None
        return self.project.first_user()

    def mix(self) -> list[Route]:
        routes = self.api.routes if self.api else ()
        chosen = [r for r in routes if r.loadable and r.method in ("GET", "POST")]
        return sorted(chosen, key=lambda r: (r.method != "GET", r.path))

    def left_out(self) -> list[str]:
        chosen = {route.label for route in self.mix()}
        notes = []
        for route in self.api.routes if self.api else ():
            if route.label in chosen:
                continue
            if route.method == "DELETE":
                why = "destroys data"
            elif route.method in ("PUT", "PATCH"):
                why = "changes existing data"
            elif route.has_path_parameters:
                why = "path parameter"
            elif route.required_query:
                why = "required query " + ", ".join(route.required_query)
            elif route.needs_body:
                why = "a body to write"
            else:
                why = "not GET or POST"
            notes.append(f"{route.label} ({why})")
        return notes


def _import_environment(project: ProjectFacts) -> dict[str, str]:
    env = dict(os.environ)
    for name, placeholder in project.database_env():
        key = placeholder.strip("{}")
        if key.startswith("url"):
            scheme = "postgresql" + key[3:]
            env[name] = f"{scheme}://leakbench@127.0.0.1:5432/leakbench"
        else:
            env[name] = _NO_SERVER[key]
    credentials = project.first_user()
    if credentials:
        env[credentials[0]], env[credentials[1]] = THROWAWAY_USER, THROWAWAY_PASSWORD
    return env


def make_plan(
    root: Path,
    app: str | None,
    choose: Callable[[Sequence[AppCandidate]], AppCandidate],
) -> Plan:
    """Read ``root``; ``choose`` picks the app when there are several and none was given."""
    project = read_project(root)
    if app is None:
        if not project.apps:
            raise UsageError(
                f"no FastAPI app found under {root} (a module-level 'app = FastAPI(...)'); "
                "pass --app pkg.module:app."
            )
        candidate = choose(project.apps) if len(project.apps) > 1 else project.apps[0]
        target, shown = candidate.target, candidate.file
    else:
        target, shown = app, None
    try:
        api, error = read_schema(fetch_schema(root, target, _import_environment(project))), None
    except LeakbenchError as exc:
        api, error = None, str(exc)
    return Plan(app=target, app_file=shown, project=project, api=api, schema_error=error)
