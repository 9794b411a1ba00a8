"""``junit.xml``: one test case per (pattern, endpoint) row, for CI test views.

What a row's test case says follows the exit code, so a CI view and the job
status never disagree:

* a row some threshold failed on (a LEAKED row under ``--fail-on-leak``, or
  a ceiling such as ``--max-p95-ms``) is a ``<failure>``, the reasons as its
  message: the code under test misbehaved;
* a FAILED or INCONCLUSIVE row is an ``<error>``: the row could not be
  judged (the target did not start, samples were lost, nothing ran), which
  proves neither a leak nor its absence, just as pytest reports a broken
  fixture as an error rather than a failure;
* a LEAKED row under ``--no-fail-on-leak`` is ``<skipped>`` with the
  verdict as its message: visible, but not failing the build, as asked;
* an INTERRUPTED row is ``<skipped>`` too;
* anything else passes.
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from leakbench._output.notes import row_notes
from leakbench._output.summary import threshold_outcomes, version_items
from leakbench._results import RowResult, RunResult, Verdict
from leakbench._settings.dsn import redact
from leakbench._verdict.outcome import Outcome
from leakbench._verdict.thresholds import ThresholdFailure

# A target's log tail can hold terminal colours and other control characters,
# which XML 1.0 forbids even escaped: one would make the whole file unreadable.
_ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """``text`` without what XML 1.0 cannot carry (colour codes dropped whole)."""
    return _NOT_XML.sub("", _ANSI_ESCAPE.sub("", text))


def _make_xml_safe(root: ET.Element) -> None:
    for element in root.iter():
        if element.text:
            element.text = _xml_text(element.text)
        for name, value in list(element.attrib.items()):
            element.set(name, _xml_text(value))


def _seconds(row: RowResult) -> str:
    """The row's observed time: from the baseline to its last sample."""
    if row.samples:
        return f"{max(s.t for s in row.samples):.3f}"
    return f"{row.load.elapsed_seconds:.3f}" if row.load is not None else "0"


def _case(row: RowResult, failures: tuple[ThresholdFailure, ...]) -> ET.Element:
    case = ET.Element(
        "testcase",
        {"classname": f"leakbench.{row.target}", "name": row.endpoint, "time": _seconds(row)},
    )
    notes = row_notes(row)
    if failures:
        names = ", ".join(f"--{f.threshold.value}" for f in failures)
        failure = ET.SubElement(
            case,
            "failure",
            {"type": names, "message": " ".join(f.message for f in failures)},
        )
        failure.text = "\n".join(f.message for f in failures)
    elif row.verdict in (Verdict.FAILED, Verdict.INCONCLUSIVE):
        message = " ".join(notes) or f"The row is {row.verdict.value}."
        error = ET.SubElement(case, "error", {"type": row.verdict.value, "message": message})
        error.text = "\n".join(notes)
    elif row.verdict in (Verdict.LEAKED, Verdict.INTERRUPTED):
        detail = " (not failing: --no-fail-on-leak)" if row.verdict is Verdict.LEAKED else ""
        message = f"{row.verdict.value}{detail}: {' '.join(notes)}".rstrip(": ")
        ET.SubElement(case, "skipped", {"message": message})
    if notes:
        ET.SubElement(case, "system-out").text = "\n".join(notes)
    return case


def render(result: RunResult, outcome: Outcome) -> str:
    """The report as JUnit XML text (the schema Jenkins, GitLab and GitHub readers share)."""
    cases = [_case(row, outcome.failures_of(row)) for row in result.rows]
    counts = {
        "tests": str(len(cases)),
        "failures": str(sum(1 for c in cases if c.find("failure") is not None)),
        "errors": str(sum(1 for c in cases if c.find("error") is not None)),
        "skipped": str(sum(1 for c in cases if c.find("skipped") is not None)),
        "time": f"{sum(float(c.get('time', '0')) for c in cases):.3f}",
    }
    suites = ET.Element("testsuites", {"name": "leakbench", **counts})
    suite = ET.SubElement(
        suites, "testsuite", {"name": "leakbench", "timestamp": _timestamp(result), **counts}
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("verdict", outcome.verdict.value),
        ("database", redact(result.settings.database)),
        *((f"version.{k.lower()}", v) for k, v in version_items(result.versions)),
        *(
            (f"threshold.{o.name.value}", f"{o.limit}: {o.outcome}")
            for o in threshold_outcomes(result, outcome)
        ),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": value})
    suite.extend(cases)
    _make_xml_safe(suites)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, "unicode") + "\n"


def _timestamp(result: RunResult) -> str:
    """JUnit's timestamp has no zone; leakbench's times are UTC."""
    return result.started_at.removesuffix("+00:00")
