"""The GitHub Actions workflow: valid, complete, runnable by our CLI, and the README's twin."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import typer
import yaml

from leakbench.cli import app

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "leakbench.yml"
README = ROOT / "README.md"
README_HEADING = "## Use it in CI"
RUN_COMMAND = (
    "leakbench run --dsn postgresql://postgres:postgres@localhost:5432/postgres "
    "--pattern both --report-dir reports/ci"
)


def load_workflow() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def readme_ci_block() -> str:
    """The first ```yaml block of the README's CI section."""
    text = README.read_text(encoding="utf-8")
    heading = re.search(rf"^{re.escape(README_HEADING)}\s*$", text, re.MULTILINE)
    assert heading, f"README.md has no {README_HEADING!r} section"
    section = text[heading.end() :]
    following = re.search(r"^## ", section, re.MULTILINE)
    if following:
        section = section[: following.start()]
    block = re.search(r"```ya?ml\n(.*?)\n```", section, re.DOTALL)
    assert block, f"README.md's {README_HEADING!r} section has no ```yaml block"
    return block.group(1)


def steps() -> list[dict[str, Any]]:
    job = load_workflow()["jobs"]["leakbench"]
    result: list[dict[str, Any]] = job["steps"]
    return result


def test_the_workflow_is_valid_yaml_with_a_postgres_service() -> None:
    workflow = load_workflow()
    # YAML 1.1 reads the bare key `on` as True; GitHub reads it as "on".
    triggers = workflow.get("on", workflow.get(True))
    assert {"push", "pull_request"} <= set(triggers)
    service = workflow["jobs"]["leakbench"]["services"]["postgres"]
    assert service["image"].startswith("postgres:")
    assert service["env"]["POSTGRES_PASSWORD"] == "postgres"
    assert "5432:5432" in service["ports"]
    assert "pg_isready" in service["options"]


def test_the_workflow_installs_runs_uploads_and_summarises() -> None:
    all_steps = steps()
    runs = [step.get("run", "") for step in all_steps]
    assert any(run.startswith("pip install") for run in runs)
    run_at = runs.index(RUN_COMMAND)
    upload_at, upload = next(
        (i, s)
        for i, s in enumerate(all_steps)
        if s.get("uses", "").startswith("actions/upload-artifact@")
    )
    assert upload["if"] == "always()"
    assert upload["with"]["path"].rstrip("/") == "reports/ci"
    summary_at, summary = next(
        (i, s) for i, s in enumerate(all_steps) if "$GITHUB_STEP_SUMMARY" in s.get("run", "")
    )
    assert summary["if"] == "always()"
    assert "reports/ci/report.md" in summary["run"]
    # Both come after the run, so they see its reports, and run even when it failed.
    assert run_at < summary_at
    assert run_at < upload_at


def test_the_workflow_command_is_one_our_cli_accepts() -> None:
    argv = shlex.split(RUN_COMMAND)
    assert argv[:2] == ["leakbench", "run"]
    group = typer.main.get_command(app)
    assert isinstance(group, typer.core.TyperGroup)
    command = group.commands["run"]
    # Parsing only: an unknown or misspelt option raises here; nothing is run.
    context = command.make_context("run", argv[2:])
    assert context.params["report_dir"] == Path("reports/ci")
    assert context.params["pattern"] == ["both"]


def test_the_readme_shows_the_same_workflow() -> None:
    assert yaml.safe_load(readme_ci_block()) == load_workflow()
