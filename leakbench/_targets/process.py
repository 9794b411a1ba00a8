"""Starting, watching and stopping the app under test.

The target runs as a child process in its own session (process group), so
stopping it stops uvicorn's workers too. leakbench binds the listening
socket itself on a free loopback port and hands it over, which avoids the
race of picking a port and hoping it is still free (see leakbench._targets.spawn,
which also keeps a spare interpreter for the first target).
"""

from __future__ import annotations

import re
import sysconfig
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx2

from leakbench._redaction import redact
from leakbench._results import CheckoutSite, MadeEngines, PoolStats, Reclaims
from leakbench._settings import Target, TargetInterpreter, defaults
from leakbench._system import shutdown
from leakbench._system.processes import StartedInWith
from leakbench._targets.boot import APP_DIR_ENV, APP_ENV
from leakbench._targets.output import TargetOutput
from leakbench._targets.probe import CONTROL_DIR_ENV
from leakbench._targets.probes import ProbeClient
from leakbench._targets.spawn import BootedProcess, Spare, boot
from leakbench.errors import TargetStartError


class TargetProcess(StartedInWith):
    """One running instance of a target app, alive inside a ``with`` block."""

    def __init__(
        self,
        target: Target,
        env: Mapping[str, str],
        work_dir: Path,
        *,
        workers: int = 1,
        startup_timeout: float = defaults.STARTUP_TIMEOUT,
        spare: Spare | None = None,
        interpreter: TargetInterpreter | None = None,
        echo: Callable[[str], None] | None = None,
        output_copy: Path | None = None,
    ) -> None:
        """``echo`` gets each line the target prints (``-v``); its whole output is copied to
        ``output_copy`` when it stops, and the messages of a failure name that file."""
        self.target = target
        self.interpreter = interpreter or TargetInterpreter.current()
        self.env = dict(env)
        self.work_dir = work_dir
        self.workers = workers
        self.startup_timeout = startup_timeout
        self.control_dir = work_dir / "control"
        self.probes = ProbeClient(self.control_dir)
        self.output = TargetOutput(work_dir / "target.log")
        self.port = 0
        self._spare = spare
        self._echo = echo
        self._output_copy = output_copy
        self._booted: BootedProcess | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._booted.process.pid if self._booted else None

    def start(self) -> None:
        self.control_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.control_dir.glob("ctl-*.sock"):
            stale.unlink(missing_ok=True)
        cwd = self.target.app_dir or Path.cwd()
        booted = self._spare.claim() if self._spare is not None else None
        if booted is None:
            booted = boot(self.output.path, cwd, interpreter=self.interpreter, echo=self._echo)
        self._booted, self.port, self.output = booted, booted.port, booted.output
        env = {**self.env, APP_ENV: self.target.app, CONTROL_DIR_ENV: str(self.control_dir)}
        if self.target.app_dir is not None:
            env[APP_DIR_ENV] = str(self.target.app_dir)
        booted.launch(self.interpreter.environment(env), cwd, self.workers)
        self._wait_ready()

    def _wait_ready(self) -> None:
        assert self._booted is not None
        process = self._booted.process
        deadline = time.monotonic() + self.startup_timeout
        with httpx2.Client(base_url=self.base_url, timeout=1.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                shutdown.check()
                code = process.poll()
                if code is not None:
                    self.output.wait()  # its last words are in the log before they are read
                    raise TargetStartError(
                        f"The target {self.target.name!r} exited with code {code} before it "
                        f"answered HTTP; {self.last_words()}"
                    )
                try:
                    client.get("/__leakbench_ready__")
                except httpx2.HTTPError:
                    time.sleep(0.05)
                    continue
                if self._probes_ready(deadline):
                    return
        raise TargetStartError(
            f"The target {self.target.name!r} did not answer HTTP within "
            f"{self.startup_timeout:g} s (raise --startup-timeout if it is slow to start); "
            f"{self.last_words()}"
        )

    def _probes_ready(self, deadline: float) -> bool:
        # The probe opens its socket while the app imports; wait for one per worker.
        while time.monotonic() < deadline:
            if len(list(self.control_dir.glob("ctl-*.sock"))) >= self.workers:
                return True
            time.sleep(0.02)
        return False

    def alive(self) -> bool:
        return self._booted is not None and self._booted.process.poll() is None

    def exit_code(self) -> int | None:
        return self._booted.process.poll() if self._booted else None

    def pool_stats(self) -> PoolStats | None:
        """The pool counters summed over the target's workers, if it uses SQLAlchemy."""
        return self.probes.pool_stats()

    def mark_checkouts(self) -> None:
        """Tell every worker's probe that checkouts from now on are the row's."""
        self.probes.mark_checkouts()

    def outstanding_checkouts(self) -> frozenset[str]:
        """``pid:number`` of each of the row's checkouts not returned yet, over the workers."""
        return self.probes.outstanding_checkouts()

    def checkout_sites(self) -> tuple[CheckoutSite, ...]:
        """Where the row's connections still checked out were taken, summed over the workers."""
        return self.probes.checkout_sites()

    def checkout_fates(self) -> tuple[tuple[CheckoutSite, ...], tuple[CheckoutSite, ...]] | None:
        """The sites named before, split: leaked, and held by requests still in flight."""
        return self.probes.checkout_fates()

    def reclaims(self) -> Reclaims | None:
        """The row's checkouts the garbage collector ended, over the workers."""
        return self.probes.reclaims()

    def made_engines(self) -> MadeEngines | None:
        """The pools made during the row that still live, over the workers."""
        return self.probes.made_engines()

    def drivers(self) -> tuple[str, ...]:
        """The DBAPI drivers (with versions) and pool classes the app's engines use."""
        return self.probes.drivers()

    def package_versions(self) -> dict[str, str] | None:
        """Python's and the app's packages' versions, as the target process sees them."""
        for answer in self.probes.ask_all("versions"):
            versions = answer.get("versions")
            if isinstance(versions, dict):
                return {str(name): str(version) for name, version in versions.items()}
        return None

    def force_gc(self) -> bool:
        """Run a full garbage collection in every worker; True if all answered."""
        return self.probes.force_gc(self.workers)

    def log_tail(self, lines: int = 8) -> str:
        """The output's last lines, as printed (one per line), and where all of it is kept."""
        tail = self.output.tail(lines)
        if not tail:
            return f"it printed nothing.{self._kept()}"
        # Redacted here too, before rich may wrap a secret across two lines.
        return redact(f"the end of its output is below.{self._kept()}\n" + "\n".join(tail))

    def last_words(self) -> str:
        """The app's last traceback as it printed it, else the end of its output."""
        # The app's own frames when it has some: the importer's say nothing about the app.
        own = app_traceback(self.output.text())
        traceback = [_TRACEBACK, *own] if own else self.output.last_traceback()
        if traceback:
            return redact(f"its last traceback is below.{self._kept()}\n" + "\n".join(traceback))
        return self.log_tail()

    def _kept(self) -> str:
        # On the message's first line: the lines after it are the app's own.
        return f" Its whole output: {self._output_copy}" if self._output_copy else ""

    def stop(self, grace: float = 5.0) -> None:
        """Stop the target: SIGTERM, and SIGKILL what is left after ``grace`` seconds."""
        booted, self._booted = self._booted, None
        if booted is not None:
            booted.stop(grace)  # its output is complete once it has stopped
            if self._output_copy is not None:
                self.output.save(self._output_copy)
        if self.control_dir.is_dir():
            for path in self.control_dir.glob("ctl-*.sock"):
                path.unlink(missing_ok=True)


_TRACEBACK = "Traceback (most recent call last):"
_LEAKBENCH = str(Path(__file__).resolve().parents[1])
_FRAME = re.compile(r'^\s*File "([^"]+)", line \d+')


def app_traceback(log: str) -> list[str]:
    """The last traceback in ``log`` cut to the app's own lines, as printed.

    The frames of the interpreter's import machinery, the standard library
    and installed packages (uvicorn's importer among them) say nothing about
    the app: kept are the frames in the app's own files (with their source
    lines) and the exception. Empty when the log holds no traceback.
    """
    start = log.rfind(_TRACEBACK)
    if start < 0:
        return []
    lines = [line for line in log[start:].splitlines()[1:] if line.strip()]
    kept: list[str] = []
    index = 0
    while index < len(lines) and lines[index].startswith(" "):
        frame = _FRAME.match(lines[index])
        body = lines[index + 1] if index + 1 < len(lines) else ""
        has_source = frame is not None and body.startswith("    ") and not _FRAME.match(body)
        if frame is not None and _is_app_file(frame.group(1)):
            kept.append(lines[index])
            if has_source:
                kept.append(body)
        index += 2 if has_source else 1
    # The exception, and any note or chained line after it, up to the next log line.
    kept.extend(lines[index : index + 3])
    return kept


def _is_app_file(path: str) -> bool:
    """A frame of the app's own code: not frozen, compiled (uvloop's .pyx) or installed."""
    if not path.startswith("/"):
        return False
    paths = sysconfig.get_paths()
    libraries = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    libraries.add(_LEAKBENCH)
    return not any(path.startswith(folder) for folder in libraries) and "-packages/" not in path
