"""The report files of a run, all rendered from one :class:`~leakbench._results.RunResult`.

``report.json`` (the data, :mod:`leakbench._output.reports.json`), ``report.md``,
``report.html`` and ``junit.xml``; one module per format, each a pure
``render(result, outcome) -> str``, fed the run's one judged outcome. This module
only names them and writes them.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import tempfile
from collections.abc import Callable, Iterable
from enum import StrEnum
from pathlib import Path

from leakbench._output.reports import html, junit, markdown
from leakbench._output.reports import json as report_json
from leakbench._redaction import redact
from leakbench._results import RunResult
from leakbench._verdict.outcome import Outcome
from leakbench.errors import UsageError

DEFAULT_PARENT = Path("reports")


class ReportFormat(StrEnum):
    """A report file leakbench can write, named as ``--format`` takes it."""

    JSON = "json"
    MD = "md"
    HTML = "html"
    JUNIT = "junit"


FILE_NAMES: dict[ReportFormat, str] = {
    ReportFormat.JSON: "report.json",
    ReportFormat.MD: "report.md",
    ReportFormat.HTML: "report.html",
    ReportFormat.JUNIT: "junit.xml",
}

_RENDERERS: dict[ReportFormat, Callable[[RunResult, Outcome], str]] = {
    ReportFormat.JSON: report_json.dumps,
    ReportFormat.MD: markdown.render,
    ReportFormat.HTML: html.render,
    ReportFormat.JUNIT: junit.render,
}


def render(result: RunResult, outcome: Outcome, report_format: ReportFormat) -> str:
    """One format's text, redacted (the files and stdout all get it from here).

    JSON redacts its data before it is serialised (see :func:`redaction.redact_data`).
    """
    text = _RENDERERS[report_format](result, outcome)
    return text if report_format is ReportFormat.JSON else redact(text)


def default_dir(now: datetime.datetime | None = None) -> Path:
    """A new ``reports/<UTC timestamp>/``, created here, with a suffix if a run took it first.

    Created with ``mkdir`` (no ``exist_ok``), which only one of two runs
    started together can win; the other moves on to the next suffix.
    """
    stamp = (now or datetime.datetime.now(datetime.UTC)).strftime("%Y%m%dT%H%M%SZ")
    _make_folder(DEFAULT_PARENT)
    for suffix in range(1, 10_000):
        candidate = DEFAULT_PARENT / (stamp if suffix == 1 else f"{stamp}-{suffix}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise UsageError(f"{DEFAULT_PARENT}/ holds 10,000 reports of {stamp}; clear some out.")


def claim_dir(requested: Path | None) -> Path:
    """The run's report folder: ``requested`` checked, or a new default one; before any load."""
    if requested is not None:
        return prepare_dir(requested)
    try:
        return prepare_dir(default_dir())
    except OSError as exc:
        raise UsageError(
            f"The default report folder under {DEFAULT_PARENT.resolve()} cannot be created "
            f"({exc.strerror or exc}); pass --report-dir DIR somewhere you can write."
        ) from None


# Written into the outermost folder leakbench creates for reports, as pytest does for its
# cache, so runs in a project leave ``git status`` clean.
GITIGNORE = "# Created by leakbench: its reports are not part of the project.\n*\n"


def _first_missing(directory: Path) -> Path | None:
    """The outermost folder of ``directory`` that does not exist yet, if any."""
    missing = None
    for folder in (directory, *directory.parents):
        if folder.exists():
            break
        missing = folder
    return missing


def _make_folder(directory: Path) -> None:
    """Create ``directory``; the outermost folder created gets a ``.gitignore`` of ``*``."""
    created = _first_missing(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if created is not None:
        (created / ".gitignore").write_text(GITIGNORE, encoding="utf-8")


def prepare_dir(directory: Path) -> Path:
    """Create ``directory`` and prove it is writable, before any load is spent on a run.

    The outermost folder created here gets a ``.gitignore`` of ``*``; a folder
    that was already there is the user's, and is left as it is.
    """
    try:
        _make_folder(directory)
        with tempfile.TemporaryFile(dir=directory, prefix=".leakbench-probe-"):
            pass
    except OSError as exc:
        raise UsageError(
            f"--report-dir {directory} cannot be written ({exc.strerror or exc}); "
            "choose a folder you can write to."
        ) from None
    return directory


def newest_report(parent: Path = DEFAULT_PARENT) -> Path:
    """The ``report.json`` written last under ``parent`` (``reports/``), for ``leakbench report``.

    Raises a UsageError naming the folder when it holds none.
    """
    found = [path for path in parent.glob("*/report.json") if path.is_file()]
    if not found:
        raise UsageError(
            f"No report.json was found in {parent}{os.sep}*{os.sep}; give the path of one "
            "(leakbench report DIR/report.json), or run leakbench run first."
        )
    return max(found, key=lambda path: (path.stat().st_mtime, str(path)))


def discard_unused_default(directory: Path | None, requested: Path | None) -> None:
    """Remove what a run that failed made for its reports when it wrote nothing into it.

    The default ``reports/<timestamp>/``, then ``reports/`` itself when it holds nothing but
    the ``.gitignore`` made with it; a ``--report-dir`` only when leakbench made it (it holds
    that ``.gitignore`` and nothing else).
    """
    if directory is None:
        return
    with contextlib.suppress(OSError):
        if requested is None:
            directory.rmdir()  # refuses a folder that is not empty
            directory = directory.parent
        ignore = directory / ".gitignore"
        if [p.name for p in directory.iterdir()] == [ignore.name] and ignore.read_text(
            encoding="utf-8"
        ) == GITIGNORE:
            ignore.unlink()
            directory.rmdir()


def write_all(
    result: RunResult,
    outcome: Outcome,
    directory: Path,
    formats: Iterable[ReportFormat] = tuple(ReportFormat),
) -> tuple[Path, ...]:
    """Write each format's file into ``directory`` (atomically) and return their paths."""
    written = []
    for report_format in formats:
        path = directory / FILE_NAMES[report_format]
        report_json.write_atomic(path, render(result, outcome, report_format))
        written.append(path)
    return tuple(written)
