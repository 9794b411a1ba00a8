"""``leakbench init``'s reading of a project and of an OpenAPI schema, and the section it writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from typer.testing import CliRunner

from leakbench._cli import app as cli_app
from leakbench._scaffold.discover import read_project
from leakbench._scaffold.openapi import read_schema, simple_body
from leakbench._scaffold.plan import THROWAWAY_PASSWORD, THROWAWAY_USER, Plan
from leakbench._scaffold.section import build, render, write
from leakbench._settings import project_file as project_config
from leakbench.errors import UsageError

SCHEMA: dict[str, Any] = {
    "paths": {
        "/token": {"post": {"requestBody": {"content": {"application/x-www-form-urlencoded": {}}}}},
        "/orders/": {
            "get": {"security": [{"OAuth2PasswordBearer": []}], "tags": ["orders"]},
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/OrderIn"}}
                    },
                },
            },
        },
        "/orders/{order_id}": {
            "get": {"parameters": [{"name": "order_id", "in": "path", "required": True}]},
            "delete": {"parameters": [{"name": "order_id", "in": "path", "required": True}]},
        },
        "/search": {"get": {"parameters": [{"name": "q", "in": "query", "required": True}]}},
        "/me": {"patch": {}},
        "/bulk": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"type": "array", "items": {"type": "object"}}
                        }
                    }
                }
            }
        },
    },
    "components": {
        "schemas": {
            "OrderIn": {
                "type": "object",
                "required": ["ref", "quantity", "email", "kind", "note"],
                "properties": {
                    "ref": {"type": "string", "format": "uuid"},
                    "quantity": {"type": "integer", "minimum": 2},
                    "email": {"type": "string"},
                    "kind": {"enum": ["small", "large"]},
                    "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    "optional": {"type": "object"},
                },
            }
        },
        "securitySchemes": {
            "OAuth2PasswordBearer": {
                "type": "oauth2",
                "flows": {"password": {"tokenUrl": "token", "scopes": {}}},
            },
            "ApiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
        },
    },
}


def test_the_schema_gives_routes_a_login_and_bodies_only_when_simple() -> None:
    api = read_schema(SCHEMA)
    assert api.token_url == "/token"
    assert api.other_schemes == (("api key", "X-Api-Key"),)
    by_label = {route.label: route for route in api.routes}
    assert "POST /token" not in by_label  # the login is not a route to load
    assert by_label["GET /orders/"].loadable and by_label["GET /orders/"].secured
    create = by_label["POST /orders/"]
    assert create.body == {
        "ref": "{uuid}",
        "quantity": 2,
        "email": "leakbench-{n}@example.com",
        "kind": "small",
        "note": "note {n}",
    }
    assert create.loadable
    assert not by_label["GET /orders/{order_id}"].loadable
    assert by_label["GET /search"].required_query == ("q",)
    assert not by_label["POST /bulk"].loadable  # an array body is not guessed


def test_a_body_example_is_used_as_it_is() -> None:
    schema = {"type": "object", "example": {"name": "given"}, "required": ["name"]}
    assert simple_body(schema, {}) == {"name": "given"}


def _project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_pydantic_settings_with_a_prefix_and_a_url_variable(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        {
            "shop/__init__.py": "",
            "shop/api.py": "from fastapi import FastAPI\n\napi = FastAPI()\n",
            "shop/settings.py": (
                "from pydantic_settings import BaseSettings, SettingsConfigDict\n"
                "class Settings(BaseSettings):\n"
                "    model_config = SettingsConfigDict(env_prefix='SHOP_')\n"
                "    database_url: str = 'postgresql+asyncpg://x@y/z'\n"
                "    admin_email: str = 'a@b.c'\n"
                "    admin_password: str = 'x'\n"
            ),
            "tests/test_x.py": "import os\nfrom fastapi import FastAPI\nt = FastAPI()\n",
        },
    )
    facts = read_project(root)
    assert [a.target for a in facts.apps] == ["shop.api:api"]  # never a test's app
    assert facts.database_env() == (("SHOP_DATABASE_URL", "{url+asyncpg}"),)
    assert facts.database_source() == "shop/settings.py"
    assert facts.first_user() == ("SHOP_ADMIN_EMAIL", "SHOP_ADMIN_PASSWORD")
    assert not facts.alembic and facts.seed_modules == ()


def test_os_environ_reads_the_template_s_parts_and_a_file_app(tmp_path: Path) -> None:
    root = _project(
        tmp_path,
        {
            "main.py": (
                "import os\nimport fastapi\n"
                "HOST = os.environ['POSTGRES_HOST']\nPORT = os.getenv('POSTGRES_PORT', '5432')\n"
                "USER = os.environ.get('POSTGRES_USER')\nDB = os.environ.get('POSTGRES_DB')\n"
                "app = fastapi.FastAPI()\n"
            ),
            "alembic.ini": "[alembic]\n",
        },
    )
    facts = read_project(root)
    assert [a.target for a in facts.apps] == ["main:app"]
    assert facts.database_env() == (
        ("POSTGRES_HOST", "{host}"),
        ("POSTGRES_PORT", "{port}"),
        ("POSTGRES_USER", "{user}"),
        ("POSTGRES_DB", "{dbname}"),
    )
    assert facts.alembic and facts.first_user() is None


def _plan(tmp_path: Path) -> Plan:
    root = _project(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
            "app/initial_data.py": "",
            "app/config.py": (
                "import os\nURL = os.environ['DATABASE_URL']\n"
                "FIRST = os.environ['FIRST_SUPERUSER']\n"
                "PASSWORD = os.environ['FIRST_SUPERUSER_PASSWORD']\n"
            ),
            "alembic.ini": "[alembic]\n",
        },
    )
    facts = read_project(root)
    return Plan("app.main:app", "app/main.py", facts, read_schema(SCHEMA))


def test_the_section_is_what_leakbench_run_reads(tmp_path: Path) -> None:
    section = build(_plan(tmp_path))
    text = render(section)
    data = tomlkit.parse(text)["tool"]["leakbench"]  # type: ignore[index]
    # Validated as `leakbench run` validates its settings: every key is one of its options.
    values = project_config.default_map(_run_command(), tmp_path / "pyproject.toml", dict(data))  # type: ignore[arg-type]
    assert values["app_spec"] == ["app.main:app"]
    assert values["app_env"] == [
        "DATABASE_URL={url}",
        f"FIRST_SUPERUSER={THROWAWAY_USER}",
        f"FIRST_SUPERUSER_PASSWORD={THROWAWAY_PASSWORD}",
    ]
    assert values["setup_cmd"] == ["alembic upgrade head", "python -m app.initial_data"]
    assert values["login"] == "POST /token"
    assert values["login_form"] == [f"username={THROWAWAY_USER}", f"password={THROWAWAY_PASSWORD}"]
    # The mix's tables arrive as checked routes, not as text to parse again.
    mix = values["mix"]
    assert [(route.method, route.path) for route in mix] == [
        ("GET", "/orders/"),
        ("POST", "/orders/"),
    ]
    assert json.loads(mix[1].body)["ref"] == "{uuid}"
    # Each value says where it came from; what is left out says why.
    assert "#   GET /orders/{order_id} (path parameter)" in text
    assert "#   DELETE /orders/{order_id} (destroys data)" in text
    assert "#   GET /search (required query q)" in text
    assert "#   POST /bulk (a body to write)" in text
    assert "#   PATCH /me (changes existing data)" in text
    assert 'header = ["X-Api-Key: ${API_KEY}"]' in text


def _run_command() -> Any:
    import typer.main  # noqa: PLC0415 - only this test needs click's view of the app

    group = typer.main.get_command(cli_app)
    return group.commands["run"]  # type: ignore[attr-defined]


def test_an_existing_section_or_leakbench_toml_is_never_overwritten(tmp_path: Path) -> None:
    section = build(_plan(tmp_path / "p"))
    pyproject = tmp_path / "pyproject.toml"
    original = '[project]\nname = "x"  # keep me\n\n[tool.leakbench]\napp = "mine:app"\n'
    pyproject.write_text(original)
    with pytest.raises(UsageError, match=r"already has a \[tool.leakbench\] section; pass --force"):
        write(tmp_path, section, force=False)
    assert pyproject.read_text() == original
    write(tmp_path, section, force=True)
    replaced = pyproject.read_text()
    assert replaced.startswith('[project]\nname = "x"  # keep me\n')
    assert 'app = "app.main:app"' in replaced and "mine:app" not in replaced

    (tmp_path / "leakbench.toml").write_text('app = "other:app"\n')
    with pytest.raises(UsageError, match=r"leakbench\.toml exists"):
        write(tmp_path, section, force=True)


def test_a_project_without_pyproject_gets_one(tmp_path: Path) -> None:
    section = build(_plan(tmp_path / "p"))
    path = write(tmp_path, section, force=False)
    assert tomlkit.parse(path.read_text())["tool"]["leakbench"]["app"] == "app.main:app"  # type: ignore[index]


def test_init_in_a_folder_without_an_app_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli_app, ["init"])
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        f"error: no FastAPI app found under {tmp_path} (a module-level 'app = FastAPI(...)'); "
        "pass --app pkg.module:app."
    ]
    assert not (tmp_path / "pyproject.toml").exists()
