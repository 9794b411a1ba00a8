"""``--all-routes``: a route that was not exercised, when the next route needs a fresh target,
and the one-line summary of how many routes were judged, and how."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from leakbench._results import RowResult, Verdict

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


def not_exercised(name: str, endpoint: str, reason: str) -> RowResult:
    """A route that could not be called meaningfully: reported, never CLEAN."""
    return RowResult(name, endpoint, Verdict.INCONCLUSIVE, None, None, error=reason)


def explained(row: RowResult, tried: Iterable[int], *, logged_in: bool) -> RowResult:
    """An INCONCLUSIVE route row whose every answer was 401/403 says what is missing.

    ``tried`` holds the statuses of the calls made before the row.
    """
    if row.verdict is not Verdict.INCONCLUSIVE or row.load is None or logged_in:
        return row
    statuses = {status for status, _ in row.load.status_counts} | set(tried)
    if not statuses or not statuses <= {401, 403}:
        return row
    return dataclasses.replace(
        row,
        note=f"Not exercised: every answer was {'/'.join(map(str, sorted(statuses)))} "
        "and nothing reached the database; give --login (and --login-form) so the route "
        "runs as a signed-in user.",
    )


def fresh_target_note(row: RowResult, *, alive: bool) -> str | None:
    """Why the next route needs a fresh target, if it does; None when this one will do.

    Not only after a leak: a row that could not be judged may still have left
    connections above its baseline, and the next row's baseline would count
    them (a collection freeing them during its load would hide a leak of its own).
    """
    if row.verdict is Verdict.LEAKED:
        return f"On a fresh target process: {row.endpoint} before it leaked."
    if not alive:
        return f"On a fresh target process: the one before exited during {row.endpoint}."
    findings = row.findings
    if findings is not None and (
        findings.leaked_connections or (findings.pool_leaked_connections or 0) > 0
    ):
        return (
            f"On a fresh target process: {row.endpoint} before it left connections "
            "above its baseline."
        )
    return None
