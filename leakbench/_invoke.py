"""What ``leakbench run``, ``matrix`` and ``report`` do, as functions returning the exit code.

The command line only parses options and calls one of these (as uvicorn's
``main()`` calls ``run()``). Each judges the run once (:func:`judge`) and
hands that one outcome to the terminal and to every report file, so what is
printed, what is written and the exit code always agree. Errors are raised
as :class:`~leakbench.errors.LeakbenchError`; the command line prints them
as one line.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import cast

from rich.console import Console

from leakbench._matrix.pipeline import run_matrix
from leakbench._output import ci, reports
from leakbench._output.matrix import dumps as matrix_json
from leakbench._output.matrix import render_matrix, render_matrix_paths, write_matrix_reports
from leakbench._output.reports import ReportFormat
from leakbench._output.reports import json as report_json
from leakbench._output.reports.json import write_atomic
from leakbench._output.style import make_console
from leakbench._output.terminal import render_report_paths, render_run
from leakbench._progress.group import open_observer
from leakbench._progress.matrix import MatrixLines
from leakbench._results import RunResult
from leakbench._runner.pipeline import run
from leakbench._settings import RunConfig
from leakbench._settings.options import MatrixOptions, RunOptions, WatchOptions
from leakbench._system import shutdown
from leakbench._system.signals import StopSignals
from leakbench._verdict.outcome import judge, judge_matrix
from leakbench.errors import Interrupted, LeakbenchError, PartialRun, UsageError

# The report folder's subfolder with each spawned target's output.
LOGS_FOLDER = "logs"


def repository_root(environ: Mapping[str, str]) -> Path:
    """The root CI paths are relative to: GitHub's workspace, GitLab's project, else here."""
    for name in ("GITHUB_WORKSPACE", "CI_PROJECT_DIR"):
        if environ.get(name):
            return Path(environ[name]).resolve()
    return Path.cwd()


def _folders(config: RunConfig) -> ci.FolderOf:
    """Each row's app folder (where its leak sites' relative paths start), by target name."""
    folders = {target.name: (target.app_dir or Path.cwd()).resolve() for target in config.targets}
    return lambda row: folders.get(row.target, Path.cwd())


def _ci_outputs(
    result: RunResult,
    config: RunConfig,
    codequality_path: Path | None,
    console: Console,
    environ: Mapping[str, str],
) -> None:
    """GitHub's annotations (when running in GitHub Actions) and GitLab's code quality file."""
    root, folder_of = repository_root(environ), _folders(config)
    if codequality_path is not None:
        write_atomic(codequality_path, ci.codequality_json(result, folder_of, root))
    if environ.get("GITHUB_ACTIONS") == "true":
        # Written raw, one per line: the runner reads workflow commands from the log's lines.
        for line in ci.github_annotations(result, folder_of, root):
            console.file.write(line + "\n")
        console.file.flush()


def run_and_report(options: RunOptions | WatchOptions, console: Console | None = None) -> int:
    """Run, write the reports, print the table; return the exit code.

    The reports are written and the table printed for the rows that exist,
    whatever ends the run: then a signal or ``--timeout`` raises
    :class:`~leakbench.errors.Interrupted`, and an error that stopped the run
    mid-way is raised again, after them.
    """
    options.check_command()
    config = options.config()
    # Checked (and the default folder claimed) before the run, so a bad folder costs no load.
    directory = reports.claim_dir(options.report_dir)
    # Every spawned target's output is kept beside the reports.
    config = dataclasses.replace(config, target_logs=directory / LOGS_FOLDER)
    console = console or make_console()
    result: RunResult | None = None
    failure: BaseException | None = None
    try:
        with StopSignals(options.timeout) as signals:
            try:
                with open_observer(
                    console, live=options.live, prometheus_port=options.prometheus_port
                ) as observer:
                    try:
                        result = run(config, observer)
                    except PartialRun as partial:
                        result, failure = cast("RunResult", partial.result), partial.cause
            except KeyboardInterrupt:
                if result is None:
                    raise Interrupted(signals.reason or "SIGINT", options.timeout) from None
            # The rows exist: a signal now waits until they are written and shown.
            shutdown.defer_interrupts()
            outcome = judge(result)
            reports.write_all(result, outcome, directory)
            if options.json_path is not None:
                report_json.write_json(result, outcome, options.json_path)
            render_run(console, result, outcome)
            render_report_paths(console, directory)
            _ci_outputs(result, config, options.codequality_path, console, os.environ)
    except LeakbenchError:
        reports.discard_unused_default(directory, options.report_dir)
        raise
    if failure is not None:
        raise failure
    if result.interrupted or signals.reason is not None:
        raise Interrupted(signals.reason or "SIGINT", options.timeout)
    return outcome.exit_code


def matrix_and_report(options: MatrixOptions, console: Console | None = None) -> int:
    """Run the rows once per combination, write the reports, print the matrix; the exit code.

    As :func:`run_and_report`: every environment is ready before any load, each
    column is judged once, and an interruption keeps the columns finished.
    """
    run_options = options.run
    run_options.check_command()
    config = options.config()
    directory = reports.claim_dir(run_options.report_dir)
    # Every target's output is kept beside the reports, one folder per combination.
    config = dataclasses.replace(
        config, run=dataclasses.replace(config.run, target_logs=directory / LOGS_FOLDER)
    )
    console = console or make_console()
    try:
        with (
            StopSignals(run_options.timeout) as signals,
            open_observer(console, live=run_options.live) as observer,
        ):
            try:
                result = run_matrix(config, observer, MatrixLines(console))
            except KeyboardInterrupt:
                raise Interrupted(signals.reason or "SIGINT", run_options.timeout) from None
        outcome = judge_matrix(result)
        write_matrix_reports(result, outcome, directory)
        if run_options.json_path is not None:
            write_atomic(run_options.json_path, matrix_json(result))
        render_matrix(console, result)
        render_matrix_paths(console, directory, result)
    except LeakbenchError:
        reports.discard_unused_default(directory, run_options.report_dir)
        raise
    if result.interrupted:
        raise Interrupted(signals.reason or "SIGINT", run_options.timeout)
    return outcome.exit_code


def report_again(
    path: Path,
    report_dir: Path | None = None,
    formats: Sequence[ReportFormat] = (),
    console: Console | None = None,
) -> int:
    """Re-render a saved report.json; return the saved run's exit code under its thresholds.

    With ``formats`` and no ``report_dir``, the one format's text goes to stdout;
    otherwise the table is printed, and the files written when ``report_dir`` is given.
    """
    result = report_json.read_json(path)
    outcome = judge(result)
    if report_dir is None and formats:
        if len(formats) > 1:
            raise UsageError(
                f"--format was given {len(formats)} times without --report-dir; "
                "give one format for stdout, or --report-dir DIR to write several."
            )
        sys.stdout.write(reports.render(result, outcome, formats[0]))
        return outcome.exit_code
    console = console or make_console()
    render_run(console, result, outcome)
    if report_dir is not None:
        reports.write_all(result, outcome, reports.prepare_dir(report_dir), formats or ReportFormat)
        render_report_paths(console, report_dir)
    return outcome.exit_code
