"""Issue 20, rough edges: absurd numbers, a misspelt --app, and Ctrl-C while leakbench starts.

Each is refused or reported in one line before anything starts (no server,
no target, no report folder left behind), with the documented exit code.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakbench._cli import app
from tests.reliability.spawn import Spawned, no_survivors, words

runner = CliRunner()

ABSURD = [
    "--timeout nan",
    "--timeout inf",
    "--timeout 1e30",
    "--request-timeout nan",
    "--startup-timeout nan",
    "--pool-timeout nan",
    "--settle nan",
    "--poll-interval inf",
    "--duration -inf",
    "--rate nan",
    "--max-p95-ms nan",
    "--load-timeout 1e30",
]


def _nothing_left(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() or p.parent.name == "reports"]


def test_every_float_option_refuses_nan_infinities_and_absurd_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for option in ABSURD:
        name, value = option.split()
        started = time.monotonic()
        result = runner.invoke(app, [*words("run -p try-finally -e ok -d 1"), name, value])
        assert result.exit_code == 2, f"{option}: {result.output}"
        assert result.output.strip().count("\n") == 0, f"{option}: {result.output}"
        assert f"'{name}'" in result.output and value in result.output, result.output
        assert "database:" not in result.output
        assert time.monotonic() - started < 10, option
    assert not _nothing_left(tmp_path)


@pytest.mark.parametrize(
    ("source", "spec", "says"),
    [
        (None, "no_such_module_xyz:app", "the module 'no_such_module_xyz' cannot be found"),
        (
            "from fastapi import FastAPI\napplication = FastAPI()\n",
            "{file}:app",
            "defines no 'app'",
        ),
        (
            "import no_such_library_xyz\nfrom fastapi import FastAPI\napp = FastAPI()\n",
            "{file}:app",
            "imports 'no_such_library_xyz'",
        ),
    ],
)
def test_an_app_that_cannot_be_imported_is_refused_before_anything_starts(
    source: str | None, spec: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    module = tmp_path / "service.py"
    if source is not None:
        module.write_text(source)
    result = runner.invoke(app, [*words("run -e /x -c 2 -d 1 --app"), spec.format(file=module)])
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert result.output.strip().count("\n") == 0, result.output
    assert "database:" not in result.output  # no server was started
    assert "Traceback" not in result.output
    assert not [p for p in _nothing_left(tmp_path) if p != module]


def test_ctrl_c_while_leakbench_imports_is_one_line(spawn: list[Spawned]) -> None:
    # -X importtime reports each module as its import ends: once click is in, the
    # command line is half-way through its imports (rich, httpx2 and the rest follow).
    child = Spawned(words("run -p try-finally -e ok -d 1"), env={"PYTHONPROFILEIMPORTTIME": "1"})
    spawn.append(child)
    child.wait_for("click", timeout=30)
    child.signal(signal.SIGINT)
    assert child.wait(30) == 130, child.output
    shown = [line for line in child.output.splitlines() if not line.startswith("import time:")]
    assert shown == ["leakbench: interrupted by SIGINT; nothing was left running."], shown
    assert no_survivors(child)
