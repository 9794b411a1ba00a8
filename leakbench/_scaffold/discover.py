"""What the project's source says, read with :mod:`ast` and never run.

* the app: a module-level ``NAME = FastAPI(...)``;
* the environment variables its settings read: the fields of a pydantic
  ``BaseSettings`` class (with its ``env_prefix``), and ``os.environ[...]``,
  ``os.environ.get(...)``, ``os.getenv(...)`` calls;
* of those, where the database URL comes from: one URL variable
  (``DATABASE_URL``, ``SQLALCHEMY_DATABASE_URI``...) or the template's parts
  (``POSTGRES_SERVER``, ``POSTGRES_PORT``, ``POSTGRES_USER``...);
* the driver its URLs name (``postgresql+psycopg``), Alembic (``alembic.ini``)
  and a seed module (``initial_data.py`` next to the app, as in the template).
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Folders that hold no code of the project's own.
_SKIPPED = frozenset(
    {"node_modules", "site-packages", "build", "dist", "reports", "migrations", "versions"}
    | {"tests", "test"}  # a test's app or environment is not the project's
)
_MAX_FILES = 2000
_URL_NAMES = re.compile(
    r"(DATABASE|DB|SQLALCHEMY_DATABASE|POSTGRES(QL)?|PG)_(URL|URI|DSN)$|^(DATABASE_URL|DSN)$",
    re.IGNORECASE,
)
_DRIVER = re.compile(r"postgres(?:ql)?\+(\w+)")
# The template's parts, by suffix, after a POSTGRES_/DB_/DATABASE_/PG prefix.
_PART_PREFIX = r"^(POSTGRES(QL)?|DB|DATABASE|PG)_?"
_PARTS = {
    "host": re.compile(_PART_PREFIX + r"(SERVER|HOST)$", re.IGNORECASE),
    "port": re.compile(_PART_PREFIX + r"PORT$", re.IGNORECASE),
    "user": re.compile(_PART_PREFIX + r"USER(NAME)?$", re.IGNORECASE),
    "password": re.compile(_PART_PREFIX + r"(PASSWORD|PASS)$", re.IGNORECASE),
    "dbname": re.compile(_PART_PREFIX + r"(DB|NAME|DATABASE)$", re.IGNORECASE),
}
_FIRST_USER = re.compile(r"SUPERUSER|ADMIN|FIRST_USER", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class AppCandidate:
    """A module-level FastAPI app: ``target`` is what ``--app`` takes."""

    target: str
    file: str


@dataclass(frozen=True, slots=True)
class EnvVar:
    """An environment variable the project's settings read, and where."""

    name: str
    file: str


@dataclass(frozen=True, slots=True)
class ProjectFacts:
    apps: tuple[AppCandidate, ...]
    env_vars: tuple[EnvVar, ...]
    driver: str | None
    alembic: bool
    seed_modules: tuple[str, ...]

    def database_env(self) -> tuple[tuple[str, str], ...]:
        """(variable, placeholder) pairs that give the app its database; () when unknown."""
        names = [var.name for var in self.env_vars]
        url = next((name for name in names if _URL_NAMES.search(name)), None)
        suffix = f"+{self.driver}" if self.driver else ""
        if url is not None:
            return ((url, f"{{url{suffix}}}"),)
        parts: list[tuple[str, str]] = []
        for placeholder, pattern in _PARTS.items():
            name = next((n for n in names if pattern.search(n)), None)
            if name is not None:
                parts.append((name, f"{{{placeholder}}}"))
        return tuple(parts) if any(value == "{host}" for _, value in parts) else ()

    def database_source(self) -> str | None:
        """The settings file the database variables were read in."""
        wanted = {name for name, _ in self.database_env()}
        return next((var.file for var in self.env_vars if var.name in wanted), None)

    def first_user(self) -> tuple[str, str] | None:
        """The settings that seed the first user (``FIRST_SUPERUSER``, its password)."""
        names = [var.name for var in self.env_vars if _FIRST_USER.search(var.name)]
        password = next((name for name in names if "PASSWORD" in name.upper()), None)
        user = next(
            (n for n in names if "PASSWORD" not in n.upper() and "TOKEN" not in n.upper()), None
        )
        return (user, password) if user and password else None


def python_files(root: Path) -> Iterator[Path]:
    count = 0
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(
            name
            for name in subfolders
            if not name.startswith((".", "__")) and name not in _SKIPPED and "venv" not in name
        )
        for name in sorted(files):
            if name.endswith(".py"):
                count += 1
                if count > _MAX_FILES:
                    return
                yield Path(folder) / name


def _parse(path: Path) -> ast.Module | None:
    try:
        return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, OSError, ValueError):
        return None


def _import_target(root: Path, path: Path, name: str) -> str:
    """``pkg.module:name`` when every folder up to ``root`` is a package, else ``file.py:name``."""
    relative = path.relative_to(root)
    folders = relative.parents
    if all((root / folder / "__init__.py").is_file() for folder in list(folders)[:-1]):
        module = ".".join((*relative.parts[:-1], relative.stem))
        return f"{module}:{name}"
    return f"{relative.as_posix()}:{name}"


def _is_fastapi_call(node: ast.expr) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "FastAPI") or (
        isinstance(func, ast.Attribute) and func.attr == "FastAPI"
    )


def _apps(root: Path, path: Path, tree: ast.Module) -> list[AppCandidate]:
    found = []
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if _is_fastapi_call(node.value):
                shown = path.relative_to(root).as_posix()
                found += [
                    AppCandidate(_import_target(root, path, target.id), shown)
                    for target in targets
                    if isinstance(target, ast.Name)
                ]
    return found


def _settings_prefix(node: ast.ClassDef) -> str:
    """A pydantic-settings class's ``env_prefix``, from ``model_config`` or ``class Config``."""
    for statement in ast.walk(node):
        if isinstance(statement, ast.keyword) and statement.arg == "env_prefix":
            value = statement.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "env_prefix" for t in statement.targets
        ):
            value = statement.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                return value.value
    return ""


def _is_settings_class(node: ast.ClassDef) -> bool:
    return any(
        (isinstance(base, ast.Name) and base.id == "BaseSettings")
        or (isinstance(base, ast.Attribute) and base.attr == "BaseSettings")
        for base in node.bases
    )


def _environ_key(node: ast.AST) -> str | None:
    """The key of ``os.environ[KEY]``, ``os.environ.get(KEY)``, ``os.getenv(KEY)``."""
    key: ast.expr | None = None
    if isinstance(node, ast.Subscript) and _names_environ(node.value):
        key = node.slice
    elif isinstance(node, ast.Call) and node.args:
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and ((func.attr == "get" and _names_environ(func.value)) or func.attr == "getenv")
        ) or (isinstance(func, ast.Name) and func.id == "getenv"):
            key = node.args[0]
    if isinstance(key, ast.Constant) and isinstance(key.value, str):
        return key.value
    return None


def _names_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _env_vars(shown: str, tree: ast.Module) -> list[EnvVar]:
    found: list[EnvVar] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and _is_settings_class(node):
            prefix = _settings_prefix(node)
            found += [
                EnvVar((prefix + item.target.id).upper(), shown)
                for item in node.body
                if isinstance(item, ast.AnnAssign)
                and isinstance(item.target, ast.Name)
                and item.target.id != "model_config"
            ]
        key = _environ_key(node)
        if key is not None:
            found.append(EnvVar(key, shown))
    return found


def _preference(app: AppCandidate) -> tuple[bool, bool, int, str]:
    """main.py first, then app.py, then the shallowest file."""
    name = Path(app.file).name
    return (name != "main.py", name != "app.py", app.file.count("/"), app.file)


def read_project(root: Path) -> ProjectFacts:
    """Everything :mod:`ast` can tell about the project in ``root``."""
    apps: list[AppCandidate] = []
    env_vars: dict[str, EnvVar] = {}
    drivers: list[str] = []
    for path in python_files(root):
        tree = _parse(path)
        if tree is None:
            continue
        shown = path.relative_to(root).as_posix()
        apps += _apps(root, path, tree)
        for var in _env_vars(shown, tree):
            env_vars.setdefault(var.name, var)
        drivers += [
            match.group(1)
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            for match in [_DRIVER.search(node.value)]
            if match
        ]
    apps.sort(key=_preference)
    return ProjectFacts(
        apps=tuple(apps),
        env_vars=tuple(env_vars.values()),
        driver=max(set(drivers), key=drivers.count) if drivers else None,
        alembic=(root / "alembic.ini").is_file(),
        seed_modules=_seed_modules(root, apps),
    )


def _seed_modules(root: Path, apps: list[AppCandidate]) -> tuple[str, ...]:
    """The template's seed, ``initial_data.py`` in the app's top package: ``python -m`` it."""
    if not apps or ".py:" in apps[0].target:
        return ()
    package = apps[0].target.split(":")[0].split(".")[0]
    seed = root / package / "initial_data.py"
    return (f"{package}.initial_data",) if seed.is_file() and package != "initial_data" else ()
