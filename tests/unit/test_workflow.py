"""This repository's GitHub workflow: valid, run through its own action, and docs/ci.md's twin."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import typer
import typer.core
import yaml

from leakbench._cli import app
from leakbench._settings.options import RunOptions

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "leakbench.yml"
ACTION = ROOT / "action.yml"
CI_DOC = ROOT / "docs" / "ci.md"
CI_DOC_HEADING = "### This repository's own workflow"


def load_workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def doc_workflow_block() -> str:
    """The first ```yaml block of docs/ci.md's section on this repository's workflow."""
    text = CI_DOC.read_text(encoding="utf-8")
    heading = re.search(rf"^{re.escape(CI_DOC_HEADING)}\s*$", text, re.MULTILINE)
    assert heading, f"docs/ci.md has no {CI_DOC_HEADING!r} section"
    block = re.search(r"```ya?ml\n(.*?)\n```", text[heading.end() :], re.DOTALL)
    assert block, f"docs/ci.md's {CI_DOC_HEADING!r} section has no ```yaml block"
    return block.group(1)


def action_step() -> dict[str, Any]:
    steps = load_workflow()["jobs"]["leakbench"]["steps"]
    (step,) = (s for s in steps if s.get("uses") == "./")
    assert isinstance(step, dict)
    return step


def test_the_workflow_is_valid_yaml_with_a_postgres_service() -> None:
    workflow = load_workflow()
    # YAML 1.1 reads the bare key `on` as True; GitHub reads it as "on".
    triggers = workflow.get("on", workflow.get(True))
    assert {"push", "pull_request"} <= set(triggers)
    job = workflow["jobs"]["leakbench"]
    service = job["services"]["postgres"]
    assert service["image"].startswith("postgres:")
    assert service["env"]["POSTGRES_PASSWORD"] == "postgres"
    assert "5432:5432" in service["ports"]
    assert "pg_isready" in service["options"]
    assert job["env"]["LEAKBENCH_DSN"] == "postgresql://postgres:postgres@localhost:5432/postgres"


def test_the_workflow_checks_out_then_runs_this_repositorys_action() -> None:
    steps = load_workflow()["jobs"]["leakbench"]["steps"]
    assert steps[0]["uses"].startswith("actions/checkout@")
    step = action_step()
    inputs = yaml.safe_load(ACTION.read_text(encoding="utf-8"))["inputs"]
    assert set(step["with"]) <= set(inputs)
    # The extras it asks for are leakbench's.
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    assert set(filter(None, step["with"].get("extras", "").split(","))) <= set(extras)


def test_the_workflow_arguments_are_ones_our_cli_accepts() -> None:
    argv = shlex.split(action_step()["with"]["args"])
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    # Parsing only: an unknown or misspelt option raises here; nothing is run.
    context = group.commands["run"].make_context("run", ["--no-live", *argv])
    assert context.params["pattern"] == ["both"]
    RunOptions(**context.params).config()


def test_docs_ci_shows_the_same_workflow() -> None:
    assert yaml.safe_load(doc_workflow_block()) == load_workflow()
