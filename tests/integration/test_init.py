"""``leakbench init`` then ``leakbench run``, on fresh copies of two projects that have no settings.

* examples/items-service, its ``[tool.leakbench]`` section removed;
* tests/data/template-project, shaped like the full-stack FastAPI template:
  pydantic-settings reading ``../.env``, the database URL built from
  ``POSTGRES_*`` parts, Alembic under ``app/alembic``, a seed module.

The runs are real (embedded PostgreSQL, uvicorn, the login, the mix), only
shorter than the section says (``-d 2 -c 4``, options override the file).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import tomlkit
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._scaffold.plan import make_plan
from leakbench._scaffold.section import build, render

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "items-service"
TEMPLATE = ROOT / "tests" / "data" / "template-project"
_IGNORED = shutil.ignore_patterns("__pycache__", "reports", ".pytest_cache")


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "items-service"
    shutil.copytree(EXAMPLE, folder, ignore=_IGNORED)
    pyproject = folder / "pyproject.toml"
    document = tomlkit.parse(pyproject.read_text())
    del document["tool"]["leakbench"]  # type: ignore[union-attr]  # a table in this file
    pyproject.write_text(tomlkit.dumps(document))
    monkeypatch.chdir(folder)
    monkeypatch.delenv("LEAKY_ITEMS", raising=False)
    return folder


@pytest.fixture
def template_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(TEMPLATE, tmp_path / "project", ignore=_IGNORED)
    folder = tmp_path / "project" / "backend"
    monkeypatch.chdir(folder)
    for name in ("POSTGRES_SERVER", "POSTGRES_DB", "FIRST_SUPERUSER", "FIRST_SUPERUSER_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return folder


def _run_right_after_init(folder: Path, mix: list[str]) -> None:
    made = runner.invoke(app, ["init"])
    assert made.exit_code == 0, made.output
    assert "Wrote [tool.leakbench] to pyproject.toml" in made.output
    section = tomlkit.parse((folder / "pyproject.toml").read_text())["tool"]["leakbench"]  # type: ignore[index]
    assert [f"{r['method']} {r['path']}" for r in section["mix"]] == mix  # type: ignore[index,union-attr]

    result = runner.invoke(app, ["run", "-d", "2", "-c", "4", "--settle", "3"])
    assert result.exit_code == 0, result.output
    assert "Settings from pyproject.toml" in " ".join(result.output.split())
    row = next(line for line in result.output.splitlines() if f"mix ({len(mix)} routes)" in line)
    assert "app.main:app" in row and "CLEAN" in row, result.output
    (report,) = (folder / "reports").glob("*/report.json")
    (row_data,) = json.loads(report.read_text())["rows"]
    # Logged in as the seeded throwaway user: every route answered 200, none 401/403/422.
    for route in row_data["load"]["routes"]:
        assert list(route["status_counts"]) == ["200"], route
    assert "leakbench-throwaway-login" not in report.read_text()


@pytest.mark.slow
def test_init_then_run_on_the_example_service(example: Path) -> None:
    _run_right_after_init(
        example, ["GET /api/v1/items/", "GET /api/v1/users/me", "POST /api/v1/items/"]
    )


@pytest.mark.slow
def test_init_then_run_on_a_template_shaped_backend(template_backend: Path) -> None:
    _run_right_after_init(
        template_backend,
        [
            "GET /api/v1/items/",
            "GET /api/v1/users/me",
            "GET /api/v1/utils/health-check/",
            "POST /api/v1/items/",
        ],
    )


@pytest.mark.slow
def test_an_existing_section_is_kept_unless_forced(example: Path) -> None:
    pyproject = example / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.leakbench]\napp = "mine:app"  # mine\n')
    before = pyproject.read_text()

    refused = runner.invoke(app, ["init"])
    assert refused.exit_code == 2, refused.output
    (line,) = [text for text in refused.output.splitlines() if text.startswith("error:")]
    assert "already has a [tool.leakbench] section; pass --force" in line
    assert pyproject.read_text() == before

    printed = runner.invoke(app, ["init", "--print"])
    assert printed.exit_code == 0, printed.output
    assert 'app = "app.main:app"' in printed.output
    assert pyproject.read_text() == before

    forced = runner.invoke(app, ["init", "--force"])
    assert forced.exit_code == 0, forced.output
    after = pyproject.read_text()
    assert 'app = "mine:app"' not in after and 'app = "app.main:app"' in after
    # The rest of the file, comments and all, is as it was.
    assert after.startswith(before.split("[tool.pytest.ini_options]")[0])
    assert '[tool.ruff]\nextend = "../../pyproject.toml"' in after


def test_an_app_that_cannot_be_imported_still_gets_a_section(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(
        "import os\nfrom fastapi import FastAPI\n"
        "KEY = os.environ['PAYMENTS_API_KEY']\napp = FastAPI()\n"
    )
    plan = make_plan(tmp_path, None, lambda candidates: candidates[0])
    assert plan.app == "main:app" and plan.api is None
    assert (
        plan.schema_error
        == "could not import main:app for its OpenAPI schema: KeyError: 'PAYMENTS_API_KEY'"
    )
    text = render(build(plan))
    assert 'app = "main:app"' in text
    assert "# No routes: could not import main:app for its OpenAPI schema: KeyError" in text
