"""Turning --pattern names and --app specs into :class:`Target` values."""

from __future__ import annotations

from pathlib import Path

from leakbench import scenarios
from leakbench._settings import Endpoint, Target
from leakbench._settings.mix import parse_mix
from leakbench.errors import UsageError


def scenario_target(scenario: scenarios.Scenario) -> Target:
    return Target(
        name=scenario.name,
        app=scenario.app,
        kind="scenario",
        default_endpoints=tuple(Endpoint.parse(e) for e in scenario.endpoints),
        default_mix=tuple(parse_mix(m) for m in scenario.mix),
        requires=scenario.requires,
        drivers=scenario.drivers,
    )


def resolve_patterns(names: list[str]) -> list[Target]:
    """Expand ``both`` and ``all`` and look every name up, in the order given."""
    chosen: list[str] = []
    for name in names:
        if name == "both":
            chosen.extend(scenarios.PR_PATTERNS)
        elif name == "all":
            chosen.extend(s.name for s in scenarios.SCENARIOS)
        else:
            chosen.append(name)
    targets: list[Target] = []
    for name in dict.fromkeys(chosen):
        scenario = scenarios.by_name(name)
        if scenario is None:
            valid = ", ".join(["both", "all", *(s.name for s in scenarios.SCENARIOS)])
            raise UsageError(f"Unknown pattern {name!r}; choose one of: {valid}.")
        targets.append(scenario_target(scenario))
    return targets


def parse_app(spec: str, app_dir: Path | None = None) -> Target:
    """``path/to/main.py:app`` (its folder made importable) or ``package.module:app``.

    A module is imported from ``app_dir`` (the current folder when None).
    """
    module, sep, attribute = spec.rpartition(":")
    if not sep or not module or not attribute.isidentifier():
        raise UsageError(
            f"--app {spec!r} is malformed; write 'path/to/main.py:app' or 'package.module:app'."
        )
    if module.endswith(".py") or "/" in module:
        path = Path(module).expanduser().resolve()
        if not path.is_file():
            raise UsageError(f"--app {spec!r}: the file {path} does not exist; check the path.")
        if not path.stem.isidentifier():
            raise UsageError(
                f"--app {spec!r}: {path.name} cannot be imported as a module; "
                "rename it to a Python name such as main.py."
            )
        # Short enough for the table: the folder and file, not the whole path.
        name = f"{path.parent.name}/{path.name}:{attribute}"
        return Target(name=name, app=f"{path.stem}:{attribute}", kind="app", app_dir=path.parent)
    if not all(part.isidentifier() for part in module.split(".")):
        raise UsageError(
            f"--app {spec!r} is malformed; the module part must be a dotted Python name."
        )
    if app_dir is not None and not app_dir.is_dir():
        raise UsageError(f"--app-dir {app_dir}: no such folder; check the path.")
    return Target(name=spec, app=spec, kind="app", app_dir=(app_dir or Path.cwd()).resolve())
