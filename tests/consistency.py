"""What no row may say: a verdict, a leak kind and reasons that contradict each other.

Shared by the pure property test over the analysis (tests/unit) and the real
runs of every shipped scenario (tests/test_scenarios.py).
"""

from __future__ import annotations

from leakbench._results import Findings, LeakKind, Verdict

# Phrases that vouch for a row: said of a CLEAN row only.
_VOUCHING = ("every connection was back", "not a leak", "none after the settle")
# Phrases that accuse a row: said of a LEAKED row only.
_ACCUSING = (
    "were still idle in transaction",
    "were still active",
    "still had",
    "still held",
    "held outside the pools",
    "survived a forced garbage collection",
    "released them",
    "fix the leak first",
    "were never returned by the app",
    "engine pool(s) were made during the row",
)
_NEVER_RAN = ("handler never", "nothing touched the database")


def contradictions(findings: Findings) -> list[str]:
    """Every way the findings contradict themselves; [] when they hold together."""
    verdict, kind, reasons = findings.verdict, findings.leak_kind, findings.reasons
    text = " ".join(reasons)
    problems: list[str] = []

    def check(ok: bool, problem: str) -> None:
        if not ok:
            problems.append(f"{verdict} / {kind}: {problem} | {text}")

    check((kind is LeakKind.NONE) == (verdict is not Verdict.LEAKED), "leak kind vs verdict")
    check(bool(reasons) or verdict is Verdict.CLEAN, "a LEAKED or INCONCLUSIVE row with no reason")
    for phrase in _VOUCHING:
        check(phrase not in text or verdict is Verdict.CLEAN, f"{phrase!r} on a non-CLEAN row")
    for phrase in _ACCUSING:
        check(phrase not in text or verdict is Verdict.LEAKED, f"{phrase!r} on a non-LEAKED row")
    pool_leaked = findings.pool_leaked_connections
    check(not pool_leaked or verdict is Verdict.LEAKED, "the pool kept connections, not LEAKED")
    check(
        "by PostgreSQL's count and the pool's" not in text or pool_leaked == 0,
        "both views claimed without the pool's count",
    )
    if kind is LeakKind.CHECKED_OUT_IDLE:
        check(bool(findings.pool_leaked_after_gc), "checked out but idle, none after the GC")
        check("while PostgreSQL shows" in text, "checked out but idle, without the server's side")
    touched = any(
        (figure or 0) > 0
        for figure in (findings.pool_checkouts, findings.connections_used, findings.new_sessions)
    )
    for phrase in _NEVER_RAN:
        check(phrase not in text or not touched, f"{phrase!r} though the database was used")
    check(not findings.leak_sites or verdict is Verdict.LEAKED, "leak sites on a non-LEAKED row")
    reclaims, engines = findings.reclaims, findings.made_engines
    check(
        reclaims is None or not reclaims.count or verdict is Verdict.LEAKED,
        "checkouts the collector ended, not LEAKED",
    )
    check(
        kind is not LeakKind.ENGINES_NOT_DISPOSED or (engines is not None and engines.holding),
        "engines never disposed, without engines holding connections",
    )
    check(
        "leakbench probe --" not in text or verdict is Verdict.INCONCLUSIVE,
        "the probe asked for on a row that is not INCONCLUSIVE",
    )
    return problems
