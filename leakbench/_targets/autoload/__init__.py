"""Loading the probe into processes leakbench did not start: ``leakbench probe -- COMMAND``.

The command runs with this folder first on ``PYTHONPATH``: Python imports its
``sitecustomize`` at start-up in every process of the command (the server,
its workers, its reloader), which starts the probe before the app is
imported, then hands over to any ``sitecustomize`` of the app's own
environment. Nothing else of leakbench goes on the app's ``sys.path``: the
probe's own files are loaded from ``LEAKBENCH_PROBE_HOME`` (the folder of
:mod:`leakbench._targets.probe`) by path: the app never has leakbench's
installation on its ``sys.path``, so neither leakbench's other modules nor
its dependencies can shadow the app's. Each probe listens in the probe
folder (``LEAKBENCH_PROBE_DIR``, else a folder of the user's own under the
temporary directory), where ``leakbench run --url`` and ``leakbench watch``
look for it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from leakbench._targets.probe import CONTROL_DIR_ENV

PROBE_DIR_ENV = "LEAKBENCH_PROBE_DIR"
# The folder of the probe's own files (probe.py and what it imports), which the app's
# interpreter loads by path: never leakbench's installation folder.
HOME_ENV = "LEAKBENCH_PROBE_HOME"
AUTOLOAD_DIR = Path(__file__).resolve().parent
PROBE_HOME = AUTOLOAD_DIR.parent


def probe_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where the probes of apps run under ``leakbench probe`` listen."""
    env = os.environ if env is None else env
    chosen = env.get(PROBE_DIR_ENV)
    if chosen:
        return Path(chosen).expanduser()
    return Path(tempfile.gettempdir()) / f"leakbench-probe-{os.getuid()}"


def prepare(folder: Path) -> None:
    """Create the probe folder (the user's alone) and drop sockets of processes that are gone."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    for socket_path in folder.glob("ctl-*.sock"):
        pid = socket_path.stem.removeprefix("ctl-")
        if not pid.isdigit() or not _alive(int(pid)):
            socket_path.unlink(missing_ok=True)


def environment(env: Mapping[str, str], folder: Path) -> dict[str, str]:
    """``env`` with the probe loaded at start-up and answering in ``folder``."""
    inherited = [part for part in env.get("PYTHONPATH", "").split(os.pathsep) if part]
    return {
        **env,
        CONTROL_DIR_ENV: str(folder),
        HOME_ENV: str(PROBE_HOME),
        "PYTHONPATH": os.pathsep.join([str(AUTOLOAD_DIR), *inherited]),
    }


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
