"""junit.xml stays well-formed XML whatever a target's log tail holds."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from leakbench._output.reports import junit
from leakbench._results import RowResult, Verdict
from leakbench._verdict.outcome import judge
from tests.factories import run_result

# What a crashed target's log can end with: colours, a bell, NUL, form feeds, a stray escape.
_LOG_TAIL = "\x1b[31mERROR\x1b[0m: boom\x00 \x07done\x0b\x0c \x1b| next line\x7f ok"


def test_control_characters_in_a_log_tail_leave_valid_xml() -> None:
    row = RowResult(
        target="app",
        endpoint="/ok",
        verdict=Verdict.FAILED,
        load=None,
        findings=None,
        error=f"The target exited before it answered; its log says: {_LOG_TAIL}",
        start_failed=True,
    )
    result = run_result(row)
    text = junit.render(result, judge(result))

    suites = ET.fromstring(text)  # noqa: S314 - our own output; a parse error fails the test
    error = suites.find("./testsuite/testcase/error")
    assert error is not None
    expected = "its log says: ERROR: boom done | next line\x7f ok"
    assert error.get("message", "").endswith(expected)
    assert (error.text or "").endswith(expected)
    assert error.get("type") == "FAILED"
