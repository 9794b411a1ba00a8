"""The one row loop: every kind of target's rows, measured and judged alike.

A kind of target (:class:`leakbench.targets.handle.Targets`: spawned,
attached, watched) checks its inputs, opens the server and yields its rows;
this loop measures each (:func:`leakbench.runner.row.observe_row`) on the
row's target and poller, hands what happened around the measurement (a start
failure, an error, the load command's end, sessions hidden from the role) to
:mod:`leakbench.verdict.rows`, and keeps the finished rows when the run is
interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses

from leakbench.config import RunConfig
from leakbench.errors import LeakbenchError, TargetStartError
from leakbench.load.command import CommandDriver, resolve
from leakbench.load.driver import LoadProgress
from leakbench.load.processes import ProcessesDriver, chosen_processes
from leakbench.postgres.server import Server
from leakbench.progress.events import RunObserver
from leakbench.results import RowResult, RunResult
from leakbench.runner.outcome import now, settings_for, warn
from leakbench.runner.row import LoadStep, observe_row
from leakbench.runner.versions import versions_for
from leakbench.system import shutdown
from leakbench.targets.commands import SetupCommandError
from leakbench.targets.handle import PlannedRow, TargetHandle, Targets
from leakbench.targets.login import LoginError
from leakbench.verdict import rows as row_verdicts


def run_rows(config: RunConfig, targets: Targets, observer: RunObserver) -> RunResult:
    """Measure every row ``targets`` yields and return the result, partial if interrupted."""
    if config.load_command is not None:
        resolve(config.load_command, targets.command_url)  # its program, before anything starts
    warnings: list[str] = []
    warn(observer, warnings, targets.check())
    warnings.extend(targets.kept_warnings)
    started_at = now()
    rows: list[RowResult] = []
    interrupted = False
    with targets.opened(observer) as server:
        observer.run_started(server.description)
        warn(observer, warnings, targets.server_warnings(server, observer))
        current: PlannedRow | None = None
        not_started: dict[int, RowResult] = {}
        try:
            with contextlib.closing(targets.rows(server, observer)) as planned:
                for plan in planned:
                    failed = not_started.get(plan.target_index)
                    if failed is not None:
                        rows.append(
                            row_verdicts.not_attempted(plan.spec.name, plan.label, failed.endpoint)
                        )
                        continue
                    shutdown.check()
                    current = plan
                    row = measure_row(config, targets, server, plan, observer)
                    current = None
                    rows.append(row)
                    observer.row_finished(row)
                    if row.start_failed:
                        not_started[plan.target_index] = row
        except KeyboardInterrupt:
            interrupted = True
            if current is not None:
                rows.append(row_verdicts.interrupted(current.spec.name, current.label))
                observer.row_finished(rows[-1])
        return RunResult(
            rows=tuple(rows),
            versions=versions_for(config, server).with_drivers(row.drivers for row in rows),
            settings=settings_for(config, server),
            started_at=started_at,
            finished_at=now(),
            interrupted=interrupted,
            warnings=tuple(warnings),
            combination=config.combination,
        )


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
