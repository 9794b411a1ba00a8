"""The GitHub Action (action.yml) run step by step in a simulated GitHub job.

The steps are read from action.yml with a YAML parser and each ``run:`` step's
script is run by bash as the runner runs it (``bash --noprofile --norc -eo
pipefail``), with its ``${{ }}`` expressions filled in and the runner's files and
variables set: GITHUB_ACTIONS, GITHUB_WORKSPACE (a temporary repository holding
an app), GITHUB_STEP_SUMMARY, GITHUB_OUTPUT, GITHUB_ACTION_PATH (this checkout)
and RUNNER_TEMP. ``uses:`` steps (setup-python, upload-artifact) are GitHub's own
code: they are checked to be there, with their inputs, and skipped.

The install step really installs leakbench from this checkout into a fresh
virtual environment, whose ``python`` and ``leakbench`` the later steps find
first on PATH; the test's own environment lends it the dependencies (a .pth
file), so pip is told not to fetch them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.codequality import validate_codequality

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"

# The app in the simulated repository, in a folder of its own (the action's
# working-directory). LEAK marks the line whose statement checks the connection out.
APP = """
    import os

    from fastapi import FastAPI
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    engine = create_engine(os.environ["DB_URL"], pool_size=2, max_overflow=2, pool_timeout=1)
    app = FastAPI()
    KEPT = []


    @app.get("/leak")
    def leak() -> dict[str, int]:
        session = Session(engine)
        value = session.execute(text("SELECT 1")).scalar_one()  # LEAK
        KEPT.append(session)  # never closed: idle in transaction for good
        return {"value": value}


    @app.get("/clean")
    def clean() -> dict[str, int]:
        with Session(engine) as session:
            return {"value": session.execute(text("SELECT 1")).scalar_one()}
"""
SETTINGS = """
    [tool.leakbench]
    app = "app.py:app"
    app-env = ["DB_URL={url+psycopg}"]
    concurrency = 4
    duration = 1
    settle = 1
    request-timeout = 3
"""


def leak_line() -> int:
    lines = textwrap.dedent(APP).splitlines()
    return next(n for n, line in enumerate(lines, start=1) if line.endswith("# LEAK"))


# -- the runner, as far as a composite action's steps need it ------------------------------

_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


@dataclass
class Job:
    """What the simulated job saw: the log, the summary, each step's outputs and fate."""

    log: str = ""
    summary: str = ""
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    skipped_uses: list[dict[str, Any]] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    exit_code: int = 0


def _value(name: str, inputs: Mapping[str, str], job: Job) -> str:
    """An expression's value: ``inputs.X``, ``steps.ID.outputs.X``, ``github.action_path``."""
    if name.startswith("inputs."):
        return inputs[name.removeprefix("inputs.")]
    if match := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", name):
        return job.outputs.get(match[1], {}).get(match[2], "")
    if name == "github.action_path":
        return str(ROOT)
    raise AssertionError(f"action.yml uses an expression this test does not know: {name}")


def _fill(text: str, inputs: Mapping[str, str], job: Job) -> str:
    return _EXPRESSION.sub(lambda m: _value(m[1], inputs, job), text)


def _condition(expression: str | None, inputs: Mapping[str, str], job: Job) -> bool:
    """A step's ``if:``, for the forms action.yml uses: always(), X != '', joined by &&."""
    if expression is None:
        return job.exit_code == 0  # success(): every earlier step passed
    result = True
    for term in (t.strip() for t in expression.split("&&")):
        if term == "always()":
            continue
        match = re.fullmatch(r"([\w.-]+) != ''", term)
        assert match, f"action.yml has a condition this test does not know: {term}"
        result = result and _value(match[1], inputs, job) != ""
    return result if "always()" in expression else result and job.exit_code == 0


def run_action(
    given: Mapping[str, str], workspace: Path, env: Mapping[str, str], *, install: bool = True
) -> Job:
    """Run action.yml's steps as GitHub's runner would, in ``workspace``."""
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    unknown = set(given) - set(inputs)
    assert not unknown, f"not inputs of action.yml: {unknown}"
    inputs.update(given)
    job = Job()
    files = workspace.parent / "runner"
    files.mkdir(exist_ok=True)
    summary = files / "step_summary.md"
    summary.write_text("")
    for index, step in enumerate(action["runs"]["steps"]):
        if not _condition(step.get("if"), inputs, job):
            continue
        if "uses" in step:
            with_ = {k: _fill(str(v), inputs, job) for k, v in step.get("with", {}).items()}
            job.skipped_uses.append({"uses": step["uses"], "with": with_})
            continue
        if step["name"] == "Install leakbench" and not install:
            continue
        assert step["shell"] == "bash", step
        output = files / f"output-{index}"
        output.write_text("")
        script = files / f"step-{index}.sh"
        script.write_text(_fill(step["run"], inputs, job), encoding="utf-8")
        step_env = {
            **env,
            **{k: _fill(str(v), inputs, job) for k, v in step.get("env", {}).items()},
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_ACTION_PATH": str(ROOT),
            "GITHUB_STEP_SUMMARY": str(summary),
            "GITHUB_OUTPUT": str(output),
            "RUNNER_TEMP": str(files),
        }
        cwd = workspace / _fill(step.get("working-directory", "."), inputs, job)
        completed = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=cwd,
            env=step_env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        job.ran.append(step["name"])
        job.log += completed.stdout + completed.stderr
        if "id" in step:
            job.outputs[step["id"]] = dict(
                line.split("=", 1) for line in output.read_text().splitlines() if "=" in line
            )
        if completed.returncode != 0:
            job.exit_code = completed.returncode
    job.summary = summary.read_text(encoding="utf-8")
    return job


# -- the simulated repository and the installed action --------------------------------------


@dataclass(frozen=True)
class Runner:
    workspace: Path
    env: dict[str, str]
    installed: Job


@pytest.fixture(scope="module")
def runner(embedded_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Runner:
    base = tmp_path_factory.mktemp("github")
    workspace = base / "repository"
    service = workspace / "service"
    service.mkdir(parents=True)
    (service / "app.py").write_text(textwrap.dedent(APP), encoding="utf-8")
    (service / "pyproject.toml").write_text(textwrap.dedent(SETTINGS), encoding="utf-8")
    # A fresh environment for the action to install leakbench into (it brings pip and
    # every dependency from the test's own through the .pth file).
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    ask = "import sysconfig; print(sysconfig.get_path('purelib'))"
    purelib = subprocess.run(
        [str(venv / "bin" / "python"), "-c", ask],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    Path(purelib, "test-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "VIRTUAL_ENV": str(venv),
        "PIP_NO_DEPS": "1",  # the dependencies are there already; install leakbench alone
        # The database the job gives leakbench, as a secret would: the shared test server.
        "LEAKBENCH_DSN": embedded_dsn,
        "COLUMNS": "120",
    }
    env.pop("PYTHONPATH", None)
    env.pop("GITHUB_STEP_SUMMARY", None)
    # GitLab's code quality file from the same run: its paths are from the repository's root.
    args = '-e "GET /leak" --codequality gl-code-quality-report.json'
    installed = run_action({"working-directory": "service", "args": args}, workspace, env)
    return Runner(workspace, env, installed)


def test_the_action_is_a_composite_with_its_inputs_and_github_steps() -> None:
    action = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert action["runs"]["using"] == "composite"
    assert {"working-directory", "args", "python-version"} <= set(action["inputs"])
    uses = {step["uses"].split("@")[0]: step for step in action["runs"]["steps"] if "uses" in step}
    assert uses["actions/setup-python"]["with"]["python-version"] == "${{ inputs.python-version }}"
    upload = uses["actions/upload-artifact"]
    assert upload["if"].startswith("always()")  # a failed run's reports are uploaded too
    assert upload["with"]["path"] == "${{ steps.run.outputs.report-dir }}"


def test_a_leak_fails_the_job_annotated_at_its_line(runner: Runner) -> None:
    job = runner.installed
    assert job.ran == ["Install leakbench", "Run leakbench", "Fail with leakbench's exit code"]
    # Installed from the action's checkout into the fresh environment, not the test's.
    venv_leakbench = Path(runner.env["VIRTUAL_ENV"], "bin", "leakbench")
    assert venv_leakbench.exists(), job.log
    assert job.outputs["run"]["exit-code"] == "1", job.log
    assert job.exit_code == 1
    assert job.summary.startswith("## leakbench: ❌ LEAKED"), job.summary
    assert "| service/app.py:app | GET /leak |" in job.summary
    errors = [line for line in job.log.splitlines() if line.startswith("::error")]
    assert len(errors) == 1, job.log
    error = errors[0]
    assert error.startswith(f"::error file=service/app.py,line={leak_line()},title=leakbench%3A ")
    assert "connection(s) checked out here in leak were never returned" in error
    assert "::warning" not in job.log
    # The reports were uploaded from where leakbench wrote them.
    (upload,) = (u for u in job.skipped_uses if u["uses"].startswith("actions/upload-artifact"))
    reports = Path(upload["with"]["path"])
    assert (reports / "report.json").is_file() and (reports / "report.html").is_file()
    assert upload["with"]["name"] == "leakbench-reports"


def test_the_same_leak_site_is_gitlabs_code_quality_issue(runner: Runner) -> None:
    report = runner.workspace / "service" / "gl-code-quality-report.json"
    issues = json.loads(report.read_text(encoding="utf-8"))
    assert validate_codequality(issues) == []
    (issue,) = issues
    assert issue["location"] == {"path": "service/app.py", "lines": {"begin": leak_line()}}
    assert issue["check_name"] == "leakbench/connection-leak"
    assert "were never returned" in issue["description"]


def test_a_clean_app_passes_without_annotations(runner: Runner) -> None:
    job = run_action(
        {"working-directory": "service", "args": "-e 'GET /clean' -d 1", "python-version": ""},
        runner.workspace,
        runner.env,
        install=False,  # installed by the leaky run (the module's fixture)
    )
    assert job.outputs["run"]["exit-code"] == "0", job.log
    assert job.exit_code == 0
    assert job.summary.startswith("## leakbench: ✅ CLEAN"), job.summary
    assert "| service/app.py:app | GET /clean |" in job.summary
    assert "::error" not in job.log and "::warning" not in job.log
    # An empty python-version keeps the job's Python: setup-python is not used.
    assert not any(u["uses"].startswith("actions/setup-python") for u in job.skipped_uses)


def test_a_usage_error_fails_the_job_with_exit_2_and_says_so(runner: Runner) -> None:
    job = run_action(
        {"working-directory": "service", "args": "--concurrency 0"},
        runner.workspace,
        runner.env,
        install=False,
    )
    assert job.outputs["run"]["exit-code"] == "2", job.log
    assert job.exit_code == 2
    assert "--concurrency 0 is out of range" in job.log
    assert "leakbench wrote no report (exit code 2)" in job.summary
