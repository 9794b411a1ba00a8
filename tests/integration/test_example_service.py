"""examples/items-service, run the way docs/your-app.md says: `leakbench run` in its folder.

Its [tool.leakbench] section makes a fresh database, runs the Alembic
migrations and the seed (--setup-cmd), logs in with the OAuth2 password form
and drives a mix of its protected routes; LEAKY_ITEMS=1 switches on the bug.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakbench._cli import app

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "items-service"


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example (its reports land there), as the current folder."""
    folder = tmp_path / "items-service"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("__pycache__", "reports"))
    monkeypatch.chdir(folder)
    monkeypatch.delenv("LEAKY_ITEMS", raising=False)
    return folder


def _report(folder: Path) -> dict[str, object]:
    (report,) = (folder / "reports").glob("*/report.json")
    data: dict[str, object] = json.loads(report.read_text())
    return data


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.slow
def test_leakbench_run_in_the_example_is_clean(service: Path) -> None:
    result = runner.invoke(app, ["run"])
    output = _flat(result.output)
    assert result.exit_code == 0, result.output
    assert "Settings from pyproject.toml" in output
    row = next(line for line in result.output.splitlines() if "mix (3 routes)" in line)
    assert "app.main:app" in row and "CLEAN" in row
    # A CLEAN row keeps its notes, the per-route counts among them, in the reports.
    (markdown,) = (service / "reports").glob("*/report.md")
    assert "Routes: GET /api/v1/items/?limit=20 (weight 3):" in _flat(markdown.read_text())
    report = _report(service)
    settings = report["settings"]
    assert isinstance(settings, dict)
    assert settings["login"] == "POST /api/v1/login/access-token"
    assert settings["setup_commands"] == ["alembic upgrade head", "python -m app.initial_data"]
    (row_data,) = report["rows"]  # type: ignore[misc]
    routes = row_data["load"]["routes"]
    assert [r["label"] for r in routes] == [
        "GET /api/v1/items/?limit=20",
        "POST /api/v1/items/",
        "GET /api/v1/users/me",
    ]
    # Logged in: every route answered 200, none 401/403; the creates did not collide.
    for route in routes:
        assert list(route["status_counts"]) == ["200"], route
        assert route["failures"] == 0
    assert "changethis" not in json.dumps(report)


@pytest.mark.slow
def test_the_leaky_setting_is_leaked(service: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKY_ITEMS", "1")
    result = runner.invoke(app, ["run"])
    output = _flat(result.output)
    assert result.exit_code == 1, result.output
    row = next(line for line in result.output.splitlines() if "mix (3 routes)" in line)
    assert "LEAKED" in row, result.output
    assert "a live reference holds them" in output, result.output
    # The oldest kept transaction last ran one of the items route's queries (which of them
    # depends on where the load stopped it: the count, or the page of items).
    assert re.search(
        r"Oldest open transaction: .*?its last query: SELECT .*? FROM item\b", output
    ), result.output
    # Where: the line of the items route that opens the session it keeps.
    source = (service / "app" / "api" / "routes" / "items.py").read_text().splitlines()
    line = next(n for n, text in enumerate(source, 1) if "audit.exec(" in text)
    assert f"checked out at app/api/routes/items.py:{line}" in output, result.output


@pytest.mark.slow
def test_a_failed_login_or_set_up_stops_before_any_load(service: Path, embedded_dsn: str) -> None:
    wrong = runner.invoke(
        app,
        [
            "run", "--dsn", embedded_dsn,
            "--login-form", "username=admin@example.com", "--login-form", "password=wrong",
        ],
    )  # fmt: skip
    assert wrong.exit_code == 3, wrong.output
    message = _flat(wrong.output)
    assert (
        "--login POST /api/v1/login/access-token answered 400: "
        '{"detail":"Incorrect email or password"}' in message
    )
    assert "Requests" not in wrong.output and "load →" not in wrong.output

    broken = runner.invoke(
        app, ["run", "--dsn", embedded_dsn, "--setup-cmd", "alembic upgrade 9999"]
    )
    assert broken.exit_code == 3, broken.output
    message = _flat(broken.output)
    assert re.search(r"--setup-cmd 'alembic upgrade 9999' failed with exit code \d+ in ", message)
    assert "9999" in message.split("its output ends:")[1]
    assert "load →" not in broken.output


def _own_tests(folder: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options, "tests"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_the_example_s_own_tests_pass_and_leak_nothing(service: Path) -> None:
    done = _own_tests(service, "--leakbench")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout
    assert "leakbench:" not in done.stdout


@pytest.mark.slow
def test_with_the_leaky_setting_the_tests_of_the_leaky_route_are_named(
    service: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAKY_ITEMS", "1")
    done = _own_tests(service, "--leakbench")
    assert done.returncode == 1, done.stdout + done.stderr
    summary = done.stdout.split("short test summary info")[-1]
    # The tests whose requests reached the list route's body; the one answered 401/403 by the
    # token dependency never ran it, and the tests themselves all passed.
    assert sorted(re.findall(r"^ERROR (\S+)", summary, flags=re.MULTILINE)) == [
        "tests/test_api.py::test_create_read_list_and_delete_an_item",
        "tests/test_api.py::test_the_list_is_paged",
    ]
    assert "5 passed, 2 errors" in done.stdout
    source = (service / "app" / "api" / "routes" / "items.py").read_text().splitlines()
    line = next(n for n, text in enumerate(source, 1) if "audit.exec(" in text)
    assert f"(taken at app/api/routes/items.py:{line} in read_items)" in done.stdout
