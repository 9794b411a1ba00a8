"""The project's own settings for ``leakbench run``: ``[tool.leakbench]`` or ``leakbench.toml``.

Every key is a long option of ``leakbench run`` without its dashes
(``concurrency = 8``, ``app-env = ["DB={url+psycopg}"]``, ``setup-cmd =
[...]``); repeatable options take lists. The values become the command's
defaults (click's ``default_map``), so an option given on the command line
wins. The schema is a pydantic model derived from the command's own
parameters, so a new option is accepted here without a change, and an
unknown key or a wrong type is a one-line error naming the key.
"""

from __future__ import annotations

import difflib
import enum
import json
import tomllib
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, Protocol, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    create_model,
)

from leakbench._settings.mix import MixTable, parse_mix
from leakbench.errors import UsageError

PYPROJECT = "pyproject.toml"
LEAKBENCH_TOML = "leakbench.toml"


# Keys whose table form is richer than the command line's text: converted to that text.
_RICHER: dict[str, Any] = {
    "mix": list[StrictStr | MixTable] | StrictStr | MixTable,
    "login-body": StrictStr | dict[str, Any],
}


def discover(start: Path) -> tuple[Path, dict[str, Any]] | None:
    """The nearest settings from ``start`` up to the repository root, as pytest and ruff look.

    Each folder is looked at in turn (:func:`find`); a ``pyproject.toml`` without a
    ``[tool.leakbench]`` section does not stop the search. The folder holding
    ``.git`` is the last one looked at, so a project's settings never come from
    a folder above its repository.
    """
    for folder in (start, *start.parents):
        found = find(folder)
        if found is not None:
            return found
        if (folder / ".git").exists():
            return None
    return None


def find(folder: Path) -> tuple[Path, dict[str, Any]] | None:
    """The settings in ``folder``: leakbench.toml, else pyproject.toml's [tool.leakbench]."""
    own = folder / LEAKBENCH_TOML
    if own.is_file():
        data = _read(own)
        return own, data.get("tool", {}).get("leakbench", data) if "tool" in data else data
    pyproject = folder / PYPROJECT
    if pyproject.is_file():
        section = _read(pyproject).get("tool", {}).get("leakbench")
        if section is not None:
            if not isinstance(section, dict):
                raise UsageError(f"{pyproject}: [tool.leakbench] must be a table.")
            return pyproject, section
    return None


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML ({exc}); fix the file.") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror}).") from None


class Command(Protocol):
    name: str | None
    params: Sequence[Any]


def option_key(param: Any) -> str | None:
    """The config key of an option: its first long name without the dashes."""
    for name in getattr(param, "opts", ()):
        if name.startswith("--"):
            return str(name[2:])
    return None


def _scalar(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return Literal[tuple(str(member.value) for member in annotation)]
    return {
        bool: StrictBool,
        int: StrictInt,
        float: StrictFloat | StrictInt,
    }.get(annotation, StrictStr)


def _python_type(param: Any) -> Any:
    """The schema type of an option, from its Python annotation (typer) or click type name."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None:
        annotation = descriptor.annotation
        if get_origin(annotation) in (Union, types.UnionType):
            annotation = next(arg for arg in get_args(annotation) if arg is not type(None))
        if get_origin(annotation) is list:
            scalar = _scalar(get_args(annotation)[0])
            # A repeatable option takes a list, or one value for a list of one.
            return list[scalar] | scalar  # type: ignore[valid-type]
        return _scalar(annotation)
    by_name = {"IntParamType": int, "FloatParamType": float, "BoolParamType": bool}
    scalar = _scalar(by_name.get(type(getattr(param, "type", None)).__name__, str))
    if getattr(param, "multiple", False):
        return list[scalar] | scalar  # type: ignore[valid-type]
    return scalar


def _is_path(param: Any) -> bool:
    """Whether an option takes a file or folder (typer's annotation, or click's type)."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None:
        annotation = descriptor.annotation
        if get_origin(annotation) in (Union, types.UnionType):
            return Path in get_args(annotation)
        return annotation is Path
    return type(getattr(param, "type", None)).__name__ == "Path"


def schema_for(command: Command) -> type[BaseModel]:
    """A strict model with one optional field per long option of ``command``."""
    fields: dict[str, Any] = {}
    for param in command.params:
        key = option_key(param)
        if key is None or key == "help":
            continue
        kind = _RICHER.get(key, _python_type(param))
        field_name = param.name or key.replace("-", "_")
        fields[field_name] = (Annotated[kind | None, Field(alias=key)], None)
    return create_model(
        f"{command.name or 'command'}_settings",
        __config__=ConfigDict(extra="forbid", strict=True, populate_by_name=False),
        **fields,
    )


def default_map(command: Command, source: Path, section: dict[str, Any]) -> dict[str, Any]:
    """The section, validated, as click defaults keyed by parameter name."""
    model = schema_for(command)
    try:
        settings = model.model_validate(section)
    except ValidationError as exc:
        raise UsageError(_explain(source, exc, model)) from None
    repeatable = {param.name for param in command.params if getattr(param, "multiple", False)}
    paths = {param.name for param in command.params if _is_path(param)}
    values: dict[str, Any] = {}
    for name, value in settings:
        if value is None:
            continue
        if name in repeatable and not isinstance(value, list):
            value = [value]  # noqa: PLW2901 - one value given for a repeatable option
        if name in paths:
            # Relative to the file, not to the folder leakbench was started in.
            values[name] = str(source.parent / Path(value).expanduser())
        elif name == "app_spec":
            values[name] = [_app_from(source.parent, spec) for spec in value]
        elif name == "mix":
            # Checked once, here: the command line receives the routes themselves.
            values[name] = [
                parse_mix(entry) if isinstance(entry, str) else entry.route() for entry in value
            ]
        elif isinstance(value, dict):  # login-body given as a table
            values[name] = json.dumps(value)
        else:
            values[name] = value
    if "app_dir" in paths and "app_dir" not in values:
        # A module app ('app.main:app') is imported from the project's folder.
        values["app_dir"] = str(source.parent)
    return values


def _app_from(folder: Path, spec: str) -> str:
    """A file-path app (``src/main.py:app``) made absolute from ``folder``; a module as is."""
    module, sep, attribute = spec.rpartition(":")
    if sep and (module.endswith(".py") or "/" in module):
        return f"{folder / Path(module).expanduser()}:{attribute}"
    return spec


def _explain(source: Path, exc: ValidationError, model: type[BaseModel]) -> str:
    # Of a union's failed branches, the deepest tells the most (a table's own bad key).
    error = max(exc.errors(), key=lambda e: len(e["loc"]))
    where = f"{source.name} [tool.leakbench]" if source.name == PYPROJECT else source.name
    keys = {field.alias or name for name, field in model.model_fields.items()}
    keys |= {field.alias or name for name, field in MixTable.model_fields.items()}
    # Drop the union branches' tags ("str", "float", "MixTable"): they are no key of the file.
    location = [str(part) for part in error["loc"] if isinstance(part, int) or part in keys]
    if error["type"] == "extra_forbidden":
        # The bad key itself is no known key, so it is not in ``location``.
        bad, parents = str(error["loc"][-1]), location
        table = MixTable if parents else model
        known = [field.alias or name for name, field in table.model_fields.items()]
        close = difflib.get_close_matches(bad, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        if parents:
            return (
                f"{where}: {'.'.join(parents)}: unknown key {bad!r}{hint}; use {', '.join(known)}."
            )
        return (
            f"{where}: unknown key {bad!r}{hint}; every key is a long option of "
            "'leakbench run' (see leakbench run --help)."
        )
    got = error.get("input")
    shown = f" (got {got!r})" if not isinstance(got, dict | list) else ""
    return f"{where}: {'.'.join(location)}: {error['msg'].lower()}{shown}."
