"""The one row loop: every kind of target's rows, measured and judged alike.

A kind of target (:class:`leakbench._targets.handle.Targets`: spawned,
attached, watched) checks its inputs, opens the server and yields its rows;
this loop measures each (:func:`leakbench._runner.row.observe_row`) on the
row's target and poller, hands what happened around the measurement (a start
failure, an error, the load command's end, sessions hidden from the role) to
:mod:`leakbench._verdict.rows`, and keeps the finished rows when the run is
interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses

from leakbench._load.driver import LoadProgress
from leakbench._load.external_tool import CommandDriver, resolve
from leakbench._load.processes import ProcessesDriver, chosen_processes
from leakbench._postgres.server import Server
from leakbench._progress.events import RunObserver
from leakbench._results import RowResult, RunResult
from leakbench._runner.result_parts import now, settings_for, warn
from leakbench._runner.row import LoadStep, observe_row
from leakbench._runner.versions import versions_for
from leakbench._settings import RunConfig
from leakbench._system import shutdown
from leakbench._targets.handle import PlannedRow, TargetHandle, Targets
from leakbench._targets.login import LoginError
from leakbench._targets.setup_commands import SetupCommandError
from leakbench._verdict import rows as row_verdicts
from leakbench.errors import LeakbenchError, PartialRun, TargetStartError


def run_rows(config: RunConfig, targets: Targets, observer: RunObserver) -> RunResult:
    """Measure every row ``targets`` yields and return the result, partial if interrupted.

    Whatever ends the run, the rows that exist are kept: a signal returns them
    (``interrupted``), and an error raised once a row has finished is raised as
    :class:`~leakbench.errors.PartialRun` carrying them, the row it stopped
    being FAILED with the error as its reason.
    """
    if config.load_command is not None:
        resolve(config.load_command, targets.command_url)  # its program, before anything starts
    progress = _Progress(config, targets)
    warn(observer, progress.warnings, targets.check())
    progress.warnings.extend(targets.kept_warnings)
    try:
        _measure_rows(config, targets, observer, progress)
    except KeyboardInterrupt:
        if progress.server is None:
            raise  # stopped while starting: nothing was measured
        progress.interrupted = True
        if progress.current is not None:
            current = progress.current
            progress.finish(observer, row_verdicts.interrupted(current.spec.name, current.label))
    except Exception as exc:
        if not progress.rows:
            # No row finished (a failed login, a set-up, the server): the error says it all.
            raise
        if progress.current is not None:
            current = progress.current
            reason = str(exc) if isinstance(exc, LeakbenchError) else f"{type(exc).__name__}: {exc}"
            progress.finish(
                observer,
                row_verdicts.failed(
                    current.spec.name, current.label, f"The run stopped here: {reason}"
                ),
            )
        raise PartialRun(exc, progress.result()) from exc
    return progress.result()


class _Progress:
    """What a run has so far, kept outside its ``with`` blocks so no ending loses it."""

    def __init__(self, config: RunConfig, targets: Targets) -> None:
        self.config = config
        self.targets = targets
        self.warnings: list[str] = []
        self.started_at = now()
        self.rows: list[RowResult] = []
        self.current: PlannedRow | None = None
        self.server: Server | None = None
        self.interrupted = False

    def finish(self, observer: RunObserver, row: RowResult) -> None:
        self.current = None
        self.rows.append(row)
        observer.row_finished(row)

    def result(self) -> RunResult:
        server = self.server
        assert server is not None, "a result needs the server the rows ran on"
        return RunResult(
            rows=tuple(self.rows),
            versions=versions_for(self.targets.app_versions, server).with_drivers(
                row.drivers for row in self.rows
            ),
            settings=settings_for(self.config, server),
            started_at=self.started_at,
            finished_at=now(),
            interrupted=self.interrupted,
            warnings=tuple(self.warnings),
            combination=self.config.combination,
        )


def _measure_rows(
    config: RunConfig, targets: Targets, observer: RunObserver, progress: _Progress
) -> None:
    with targets.opened(observer) as server:
        progress.server = server
        observer.run_started(server.description)
        warn(observer, progress.warnings, targets.server_warnings(server, observer))
        not_started: dict[int, RowResult] = {}
        with contextlib.closing(targets.rows(server, observer)) as planned:
            for plan in planned:
                if isinstance(plan, RowResult):  # measured by the kind itself
                    progress.finish(observer, plan)
                    continue
                failed = not_started.get(plan.target_index)
                if failed is not None:
                    progress.rows.append(
                        row_verdicts.not_attempted(plan.spec.name, plan.label, failed.endpoint)
                    )
                    continue
                shutdown.check()
                progress.current = plan
                row = measure_row(config, targets, server, plan, observer)
                progress.finish(observer, row)
                if row.start_failed:
                    not_started[plan.target_index] = row
            # Every row is done: a signal now must not cut the clean-up short (the
            # databases dropped, the server removed); it is honoured once that is done.
            shutdown.defer_interrupts()
    shutdown.check()


def measure_row(
    config: RunConfig,
    targets: Targets,
    server: Server,
    plan: PlannedRow,
    observer: RunObserver,
    *,
    drive: LoadStep | None = None,
) -> RowResult:
    """One row on its own target: measured, then judged with what happened around it.

    ``drive`` is the row's load step; by default leakbench's driver, or the
    configured load command.
    """
    try:
        with plan.open() as (handle, poller):
            observer.row_started(plan.spec.name, plan.label, plan.duration)
            row = observe_row(
                config=config,
                spec=plan.spec,
                target=handle,
                poller=poller,
                progress=LoadProgress(),
                observer=observer,
                drive=drive or _driver(config, handle),
            )
    except TargetStartError as exc:
        return row_verdicts.failed(plan.spec.name, plan.label, str(exc), start_failed=True)
    except (LoginError, SetupCommandError):
        raise  # the whole run stops: no row of this app could be judged
    except LeakbenchError as exc:
        return row_verdicts.failed(plan.spec.name, plan.label, str(exc))
    # A command's row is named after the command (its workload is only a placeholder).
    row = dataclasses.replace(row, endpoint=plan.label)
    command = config.load_command
    if command is not None:
        row = row_verdicts.with_load_command(row, judge_failed_load=command.judge_failed_load)
    if row_verdicts.may_hide_a_leak(row):
        row = row_verdicts.with_hidden_sessions(row, targets.hidden_reason(server))
    return row


def _driver(config: RunConfig, handle: TargetHandle) -> LoadStep:
    """leakbench's own driver, or the load command at the row's target."""
    command = config.load_command
    if command is None:
        return ProcessesDriver(chosen_processes(config.load.driver_processes, config.workers))
    return CommandDriver(resolve(command, handle.base_url or None), command.time_limit)
