"""Starting, watching and stopping the app under test.

The target runs as a child process in its own session (process group), so
stopping it stops uvicorn's workers too. leakbench binds the listening
socket itself on a free loopback port and hands it over, which avoids the
race of picking a port and hoping it is still free (see leakbench.targets.spawn,
which also keeps a spare interpreter for the first target).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import httpx2

from leakbench.config import Target, TargetInterpreter
from leakbench.errors import TargetStartError
from leakbench.results import CheckoutSite, MadeEngines, PoolStats, Reclaims
from leakbench.system import shutdown
from leakbench.system.processes import StartedInWith
from leakbench.targets.boot import APP_DIR_ENV, APP_ENV
from leakbench.targets.probe import CONTROL_DIR_ENV
from leakbench.targets.probes import ProbeClient
from leakbench.targets.spawn import BootedProcess, Spare, boot


class TargetProcess(StartedInWith):
    """One running instance of a target app, alive inside a ``with`` block."""

    def __init__(
        self,
        target: Target,
        env: Mapping[str, str],
        work_dir: Path,
        *,
        workers: int = 1,
        startup_timeout: float = 30.0,
        spare: Spare | None = None,
        interpreter: TargetInterpreter | None = None,
    ) -> None:
        self.target = target
        self.interpreter = interpreter or TargetInterpreter.current()
        self.env = dict(env)
        self.work_dir = work_dir
        self.workers = workers
        self.startup_timeout = startup_timeout
        self.control_dir = work_dir / "control"
        self.probes = ProbeClient(self.control_dir)
        self.log_path = work_dir / "target.log"
        self.port = 0
        self._spare = spare
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
            booted = boot(self.log_path, cwd, interpreter=self.interpreter)
        self._booted, self.port, self.log_path = booted, booted.port, booted.log_path
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
                    raise TargetStartError(
                        f"The target {self.target.name!r} exited with code {code} before it "
                        f"answered HTTP; its log ends: {self.log_tail()}"
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
            f"its log ends: {self.log_tail()}"
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

    def force_gc(self) -> bool:
        """Run a full garbage collection in every worker; True if all answered."""
        return self.probes.force_gc(self.workers)

    def log_tail(self, lines: int = 8) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        tail = [line for line in text.strip().splitlines() if line.strip()][-lines:]
        return " | ".join(tail) if tail else "(empty log)"

    def stop(self) -> None:
        booted, self._booted = self._booted, None
        if booted is not None:
            booted.stop()
        if self.control_dir.is_dir():
            for path in self.control_dir.glob("ctl-*.sock"):
                path.unlink(missing_ok=True)
