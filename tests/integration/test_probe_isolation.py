"""``leakbench probe`` shows the app its probe and nothing else of leakbench.

Real processes: ``python -m leakbench probe -- PYTHON app.py``, the app having a package
named ``leakbench`` of its own beside it (another version, a vendored copy). The probe
must load and answer all the same, and the app must import its own ``leakbench``, see no
module of leakbench's installation but the probe's files, and have the ``sys.path`` it
has without the probe.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import leakbench
from leakbench._targets.autoload import PROBE_DIR_ENV

LEAKBENCH_DIR = str(Path(leakbench.__file__).resolve().parent)
# What the app reports: its own leakbench, its probe's answer, what it sees of leakbench.
APP = """
    import json, os, socket, sys

    import leakbench

    seen = {
        "leakbench": getattr(leakbench, "WHO", getattr(leakbench, "__file__", None)),
        "path": sys.path,
        "from_leakbench": sorted(
            name
            for name, module in list(sys.modules.items())
            if (getattr(module, "__file__", None) or "").startswith(sys.argv[1] + os.sep)
        ),
    }
    control = os.environ.get("LEAKBENCH_CONTROL_DIR")
    if control:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(5)
            client.connect(os.path.join(control, f"ctl-{os.getpid()}.sock"))
            client.sendall(b"stats\\n")
            seen["probe_pid"] = json.loads(client.makefile().readline())["pid"] == os.getpid()
    print(json.dumps(seen))
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "app"
    (folder / "leakbench").mkdir(parents=True)
    (folder / "leakbench" / "__init__.py").write_text('WHO = "the app\'s own leakbench"\n')
    (folder / "app.py").write_text(textwrap.dedent(APP))
    return folder


@pytest.fixture
def probe_dir() -> Iterator[Path]:
    # Short: a Unix socket's path is limited to about 100 bytes.
    folder = Path(tempfile.mkdtemp(prefix="lbp-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _run(app_dir: Path, *, under_probe: Path | None) -> tuple[dict[str, Any], str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("LEAKBENCH_", "PYTHON"))
    }
    # The app's own interpreter: the base one when leakbench runs in a virtual environment.
    python = getattr(sys, "_base_executable", sys.executable)
    args = [python, str(app_dir / "app.py"), LEAKBENCH_DIR]
    if under_probe is not None:
        env[PROBE_DIR_ENV] = str(under_probe)
        args = [sys.executable, "-m", "leakbench", "probe", "--", *args]
    # Run from elsewhere: ``python -m leakbench`` would find the app's own in its folder.
    done = subprocess.run(
        args, env=env, cwd=app_dir.parent, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def test_the_app_sees_the_probe_and_nothing_else_of_leakbench(
    app_dir: Path, probe_dir: Path
) -> None:
    alone, _ = _run(app_dir, under_probe=None)
    seen, stderr = _run(app_dir, under_probe=probe_dir)
    assert "not loaded" not in stderr and "Error in sitecustomize" not in stderr, stderr
    assert seen["probe_pid"] is True  # the probe answers, in the app's own process
    assert seen["leakbench"] == "the app's own leakbench"
    assert seen["path"] == alone["path"]
    # The hook, and the probe's own files as a private package: no module named leakbench.*.
    assert seen["from_leakbench"] == [
        "_leakbench_probe.pool_counters",
        "_leakbench_probe.probe",
        "_leakbench_probe.psycopg_pools",
        "_leakbench_probe.sites",
        "sitecustomize",
    ]
