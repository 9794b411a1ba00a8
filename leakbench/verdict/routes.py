"""The one-line summary of an ``--all-routes`` run: how many routes were judged, and how."""

from __future__ import annotations

from collections.abc import Sequence

from leakbench.results import RowResult, Verdict

_NOT_EXERCISED = "Not exercised: "


def route_summary(rows: Sequence[RowResult]) -> str:
    """``7 routes: 6 CLEAN, 1 LEAKED, 0 not exercised``, naming why a route was not.

    A route is *not exercised* when its row could not be judged (INCONCLUSIVE):
    every request was refused (422, 401 without a login) or nothing reached the
    database. Such a route is reported, never counted CLEAN.
    """
    counts = {verdict: sum(1 for row in rows if row.verdict is verdict) for verdict in Verdict}
    unexercised = [row for row in rows if row.verdict is Verdict.INCONCLUSIVE]
    parts = [
        f"{counts[Verdict.CLEAN]} CLEAN",
        f"{counts[Verdict.LEAKED]} LEAKED",
        f"{len(unexercised)} not exercised",
    ]
    if unexercised:
        parts[-1] += " (" + "; ".join(f"{row.endpoint}: {why(row)}" for row in unexercised) + ")"
    for verdict in (Verdict.FAILED, Verdict.INTERRUPTED):
        if counts[verdict]:
            parts.append(f"{counts[verdict]} {verdict.value}")
    return f"{len(rows)} route{'s' if len(rows) != 1 else ''}: {', '.join(parts)}."


def why(row: RowResult) -> str:
    """The first reason a row gives, shortened to its first clause."""
    for text in (row.note, row.error, *(row.findings.reasons if row.findings else ())):
        if text:
            short = text.removeprefix(_NOT_EXERCISED)
            return short.split("; ")[0].rstrip(".")
    return "no reason recorded"
