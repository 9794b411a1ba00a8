"""What a CI server reads: GitHub's workflow-command annotations and GitLab's code quality report.

Both come from the same leak sites (where the app's own code took the connections
a LEAKED row never gave back), placed in the repository: a site's file is
relative to the folder its app ran in, and a pull request shows an annotation
only at a path relative to the repository's root (``GITHUB_WORKSPACE``,
``CI_PROJECT_DIR``). Pure: the caller passes each row's folder and the root.

* GitHub (https://docs.github.com/actions/reference/workflow-commands-for-github-actions):
  one ``::error file=...,line=...::`` per leak site, a ``::error`` for a LEAKED
  row without a site (attach mode, watch) and for a FAILED row, a
  ``::warning`` per INCONCLUSIVE row. Values are escaped as the runner
  unescapes them: ``%``, CR and LF in a message; also ``:`` and ``,`` in a property.
* GitLab (https://docs.gitlab.com/ci/testing/code_quality/): the Code Climate
  JSON array it reads, one issue per leak site.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from leakbench._output.notes import leak_kind_label, row_notes
from leakbench._results import LeakKind, RowResult, RunResult, Verdict

# Where each row's app ran: the folder its leak sites' relative paths start from.
FolderOf = Callable[[RowResult], Path]

CHECK_NAME = "leakbench/connection-leak"


@dataclass(frozen=True, slots=True)
class Site:
    """A line of the app's code a leak points at, and what happened there."""

    file: str
    line: int
    function: str
    # What was left there, as the rest of a sentence: "3 connection(s) checked out here
    # in f were never returned".
    what: str


@dataclass(frozen=True, slots=True)
class PlacedSite:
    """A leak site placed in the repository: its path from the root, or None when outside it."""

    row: RowResult
    site: Site
    path: str | None
    absolute: Path

    @property
    def shown(self) -> str:
        """The path as a reader finds it: from the repository's root, else absolute."""
        return self.path if self.path is not None else str(self.absolute)

    @property
    def message(self) -> str:
        findings = self.row.findings
        kind = findings.leak_kind if findings is not None else LeakKind.UNKNOWN
        return (
            f"{self.site.what} ({self.row.target} {self.row.endpoint}, LEAKED, "
            f"{leak_kind_label(kind)})."
        )


def row_sites(row: RowResult) -> list[Site]:
    """The lines a LEAKED row's leak points at, each once: the connections still checked out,
    those only the garbage collector gave back, and the engines made and never disposed."""
    findings = row.findings
    if row.verdict is not Verdict.LEAKED or findings is None:
        return []
    kept = (
        "returned only by a forced garbage collection"
        if findings.leak_kind is LeakKind.AWAITING_GC
        else "never returned"
    )
    sites = [
        Site(
            s.file,
            s.line,
            s.function,
            f"{s.count} connection(s) checked out here in {s.function} were {kept}",
        )
        for s in findings.leak_sites
    ]
    if findings.reclaims is not None:
        sites += [
            Site(
                s.file,
                s.line,
                s.function,
                f"{s.count} connection(s) checked out here in "
                f"{s.function} were dropped without close() and given back only by the "
                "garbage collector",
            )
            for s in findings.reclaims.sites
        ]
    if findings.made_engines is not None:
        sites += [
            Site(
                e.file,
                e.line,
                e.function,
                f"{e.pools} engine(s) made here in {e.function} "
                f"during the row were never disposed, holding {e.connections} connection(s)",
            )
            for e in findings.made_engines.sites
        ]
    unique: dict[tuple[str, int, str], Site] = {}
    for site in sites:
        unique.setdefault((site.file, site.line, site.function), site)
    return list(unique.values())


def place(site: Site, folder: Path, root: Path) -> tuple[str | None, Path]:
    """The site's path from ``root`` (with ``/``), None outside it; and its absolute path."""
    absolute = Path(site.file) if Path(site.file).is_absolute() else folder / site.file
    if site.line < 1:  # no frame of the app's own code was found: no place to point at
        return None, absolute
    try:
        relative = absolute.relative_to(root)
    except ValueError:
        return None, absolute
    return PurePosixPath(*relative.parts).as_posix(), absolute


def placed_sites(result: RunResult, folder_of: FolderOf, root: Path) -> Iterator[PlacedSite]:
    """Every leak site of every LEAKED row, placed in the repository."""
    for row in result.rows:
        for site in row_sites(row):
            path, absolute = place(site, folder_of(row), root)
            yield PlacedSite(row, site, path, absolute)


# -- GitHub --------------------------------------------------------------------------------


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as the runner unescapes it."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value (file, title): also ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, **properties: str | int) -> str:
    """One workflow command line, such as ``::error file=app.py,line=3::message``."""
    props = ",".join(f"{name}={escape_property(str(value))}" for name, value in properties.items())
    return f"::{kind}{' ' + props if props else ''}::{escape_data(message)}"


def _title(row: RowResult) -> str:
    return f"leakbench: {row.target} {row.endpoint} {row.verdict.value}"


def _summary(row: RowResult) -> str:
    """The row's notes as one message (the first few; the reports have them all)."""
    notes = row_notes(row)
    return " ".join(notes[:3]) if notes else f"The row is {row.verdict.value}."


def github_annotations(result: RunResult, folder_of: FolderOf, root: Path) -> list[str]:
    """The workflow commands for the run: an error at each leak site, a warning per doubt."""
    lines: list[str] = []
    sited = set()
    for placed in placed_sites(result, folder_of, root):
        sited.add(id(placed.row))
        row, site = placed.row, placed.site
        title = f"leakbench: connection leak ({row.target} {row.endpoint})"
        if placed.path is not None:
            line = command("error", placed.message, file=placed.path, line=site.line, title=title)
        else:  # outside the repository: no line to show it at, so the place is in the text
            line = command("error", f"{placed.shown}:{site.line}: {placed.message}", title=title)
        lines.append(line)
    for row in result.rows:
        if row.verdict in (Verdict.LEAKED, Verdict.FAILED) and id(row) not in sited:
            lines.append(command("error", _summary(row), title=_title(row)))
        elif row.verdict is Verdict.INCONCLUSIVE:
            lines.append(command("warning", _summary(row), title=_title(row)))
    return lines


# -- GitLab --------------------------------------------------------------------------------


def codequality_issues(
    result: RunResult, folder_of: FolderOf, root: Path
) -> list[dict[str, object]]:
    """The Code Climate issues GitLab shows in a merge request, one per leak site.

    The fingerprint names the place and the row, not the count, so the same leak
    is the same issue from one pipeline to the next.
    """
    issues: list[dict[str, object]] = []
    for placed in placed_sites(result, folder_of, root):
        row = placed.row
        place_key = (placed.shown, placed.site.function, row.target, row.endpoint)
        key = "\0".join((CHECK_NAME, *place_key))
        issues.append(
            {
                "type": "issue",
                "check_name": CHECK_NAME,
                "description": placed.message,
                "categories": ["Bug Risk"],
                "severity": "critical",
                "fingerprint": hashlib.sha256(key.encode()).hexdigest(),
                "location": {"path": placed.shown, "lines": {"begin": placed.site.line}},
            }
        )
    return issues


def codequality_json(result: RunResult, folder_of: FolderOf, root: Path) -> str:
    """The code quality report as JSON text (an empty array when nothing leaked)."""
    return json.dumps(codequality_issues(result, folder_of, root), indent=2) + "\n"
