"""The shape GitLab reads in a code quality report, checked field by field.

From GitLab's documentation (ci/testing/code_quality, "Code Quality report format"): an
array of Code Climate issues, each with a ``description``, a ``check_name``, a unique
``fingerprint``, a ``severity`` of info, minor, major, critical or blocker, a
``location.path`` relative to the repository and a ``location.lines.begin`` line.
"""

from __future__ import annotations

SEVERITIES = frozenset({"info", "minor", "major", "critical", "blocker"})


def validate_codequality(issues: object) -> list[str]:
    """Everything wrong with ``issues`` as GitLab's code quality report (empty when valid)."""
    if not isinstance(issues, list):
        return ["the report is not a JSON array"]
    problems: list[str] = []
    seen: set[str] = set()
    for index, issue in enumerate(issues):
        where = f"issue {index}"
        if not isinstance(issue, dict):
            problems.append(f"{where} is not an object")
            continue
        for key in ("description", "check_name", "fingerprint"):
            if not isinstance(issue.get(key), str) or not issue[key]:
                problems.append(f"{where}: {key} is not a non-empty string")
        if issue.get("severity") not in SEVERITIES:
            problems.append(f"{where}: severity {issue.get('severity')!r} is not one of GitLab's")
        fingerprint = issue.get("fingerprint")
        if isinstance(fingerprint, str):
            if fingerprint in seen:
                problems.append(f"{where}: fingerprint {fingerprint} is not unique")
            seen.add(fingerprint)
        location = issue.get("location")
        path = location.get("path") if isinstance(location, dict) else None
        lines = location.get("lines") if isinstance(location, dict) else None
        if not isinstance(path, str) or not path:
            problems.append(f"{where}: location.path is not a non-empty string")
        begin = lines.get("begin") if isinstance(lines, dict) else None
        if not isinstance(begin, int) or isinstance(begin, bool) or begin < 1:
            problems.append(f"{where}: location.lines.begin is not a line number")
    return problems
