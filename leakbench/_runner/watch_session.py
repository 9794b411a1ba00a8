"""A watched row whose load another tool drives and announces (the Locust plugin).

The row is the watch mode's (:class:`leakbench._targets.watched.WatchedTargets`)
measured by the same row procedure as every other
(:func:`leakbench._runner.loop.measure_row`); only its load step differs: it
waits for the tool to say its load is over.
"""

from __future__ import annotations

import contextlib
import threading
import time

from leakbench._load.driver import LoadPlan, LoadProgress
from leakbench._postgres.server import Server
from leakbench._progress.events import RunObserver
from leakbench._results import ExternalLoad, RowResult, RunResult, RunSettings
from leakbench._runner.loop import measure_row
from leakbench._runner.result_parts import now
from leakbench._runner.versions import collect
from leakbench._settings import RunConfig
from leakbench._targets.watched import WATCH_ROW_NAME, WatchedTargets
from leakbench._verdict import rows as row_verdicts
from leakbench.errors import LeakbenchError, RunError


class WatchSession:
    """A watched row whose load another tool drives and announces (the Locust plugin).

    :meth:`begin` takes the baseline and returns once the row is sampling,
    so the tool's load starts after it; :meth:`end` is given the tool's
    figures when its load is over, settles, judges and returns the result.
    The row runs :func:`measure_row` in a thread whose load step waits for
    :meth:`end`. Use it as a context manager so the server is always closed.
    """

    def __init__(self, config: RunConfig, label: str, observer: RunObserver | None = None) -> None:
        assert config.watch is not None
        self.config = config
        self.label = label
        self.observer = observer or RunObserver()
        self.warnings: list[str] = []
        self._targets = WatchedTargets(config, label)
        self._stack = contextlib.ExitStack()
        self._server: Server | None = None
        self._sampling = threading.Event()
        self._load_over = threading.Event()
        self._load: ExternalLoad | None = None
        self._row: RowResult | None = None
        self._thread: threading.Thread | None = None
        self._started_at = ""

    def __enter__(self) -> WatchSession:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def begin(self, timeout: float = 30.0) -> None:
        """Open the server, take the baseline and start sampling; return when the load may start."""
        self._started_at = now()
        server = self._server = self._stack.enter_context(self._targets.opened(self.observer))
        self.observer.run_started(server.description)
        self.warnings = [*self._targets.visibility_warnings(server), *self._targets.kept_warnings]
        self._thread = threading.Thread(target=self._observe, name="leakbench-watch", daemon=True)
        self._thread.start()
        if not self._sampling.wait(timeout) and self._row is None:
            raise RunError("leakbench could not take the baseline in time; check --dsn.")

    def end(self, load: ExternalLoad) -> RunResult:
        """The load is over: settle, judge, and return the run's result."""
        assert self._server is not None and self._thread is not None
        self._load = load
        self._load_over.set()
        self._thread.join()
        row = self._row or row_verdicts.failed(
            WATCH_ROW_NAME, self.label, "The row did not finish."
        )
        self.observer.row_finished(row)
        return RunResult(
            rows=(row,),
            versions=collect(self._server.info.version),
            settings=self._settings(load.command),
            started_at=self._started_at,
            finished_at=now(),
            warnings=tuple(self.warnings),
        )

    def close(self) -> None:
        self._load_over.set()  # a row still waiting for the load ends now
        if self._thread is not None:
            self._thread.join(timeout=self.config.verdict.settle + 30)
        self._stack.close()

    def _observe(self) -> None:
        server = self._server
        assert server is not None
        try:
            (plan,) = self._targets.rows(server, self.observer)
            self._row = measure_row(
                self.config, self._targets, server, plan, self.observer, drive=self._await_load
            )
        except LeakbenchError as exc:
            self._row = row_verdicts.failed(WATCH_ROW_NAME, self.label, str(exc))
        finally:
            self._sampling.set()

    def _await_load(self, plan: LoadPlan, progress: LoadProgress) -> ExternalLoad:
        del plan
        progress.started_at = time.monotonic()
        progress.load_tool = self.label
        self._sampling.set()
        self._load_over.wait()
        return self._load or ExternalLoad(command=self.label, elapsed_seconds=0.0, stopped=True)

    def _settings(self, command: str) -> RunSettings:
        server, watch = self._server, self.config.watch
        assert server is not None and watch is not None
        verdict = self.config.verdict
        return RunSettings(
            database=server.description,
            embedded_database=server.embedded,
            concurrency=0,
            duration_seconds=None,
            requests_per_row=None,
            request_timeout_seconds=0.0,
            pool_size=0,
            max_overflow=0,
            pool_timeout_seconds=0.0,
            workers=0,
            settle_seconds=verdict.settle,
            quiet_period_seconds=verdict.quiet_period,
            max_idle_in_transaction=verdict.max_idle_in_transaction,
            poll_interval_seconds=self.config.poll_interval,
            server_max_connections=server.info.max_connections,
            idle_in_transaction_session_timeout=server.info.idle_in_transaction_session_timeout,
            application_name=watch.application_name,
            fail_on_leak=self.config.thresholds.fail_on_leak,
            max_total_connections=self.config.thresholds.max_total_connections,
            load_command=command,
            watched=True,
        )
