"""Why a row with no leak still cannot be called clean: pure functions, no I/O.

Whether the requests reached the database is decided by the database (the
connections that ran a statement, the sessions opened, the pool's
checkouts), never by the HTTP status class; a row PostgreSQL or the probe
cannot vouch for (samples lost, a restart, sessions ended by the server, a
pool the server alone cannot see) is INCONCLUSIVE.
"""

from __future__ import annotations

from leakbench._results import SessionEnds
from leakbench._verdict import collector
from leakbench._verdict.observation import Observation

# More lost samples than this share of the expected count makes the
# observation too patchy to call a row clean.
MAX_GAP_SHARE = 0.2


def touched(observation: Observation) -> bool:
    """True when the database shows that requests reached it during the row.

    Decided on what PostgreSQL reports at once: pool checkouts, connections
    that ran a statement (query_start) and sessions opened. The transaction
    count is only reported: a backend's statistics are flushed lazily (up to
    10 s late), so transactions from before the row can land in it.
    """
    checkouts = observation.pool.checkouts if observation.pool is not None else 0
    return (
        checkouts > 0
        or (observation.connections_used or 0) > 0
        or (observation.new_sessions or 0) > 0
    )


def _evidence_known(observation: Observation) -> bool:
    return (
        observation.pool is not None
        or observation.connections_used is not None
        or observation.new_sessions is not None
    )


def evidence(observation: Observation) -> str:
    """``3 pool checkout(s), 2 connection(s) that ran a statement, ...``, with what is known."""
    parts = []
    if observation.pool is not None:
        parts.append(f"{observation.pool.checkouts} pool checkout(s)")
    if observation.connections_used is not None:
        parts.append(f"{observation.connections_used} connection(s) that ran a statement")
    if observation.new_sessions is not None:
        parts.append(f"{observation.new_sessions} new session(s)")
    if observation.database_transactions is not None:
        parts.append(f"{observation.database_transactions} transaction(s) in the database")
    return ", ".join(parts)


def doubt(observation: Observation, peak_total: int) -> str | None:
    """Why a row with no leak still cannot be called clean, if it cannot (first reason wins).

    Whether the requests reached the database is decided by the database
    (its transaction count) and the pool (its checkouts), not by the HTTP
    status: handlers answer 404, 409 or 403 after running SQL all the time.
    """
    ends = observation.session_ends
    evidence_known = _evidence_known(observation)
    reached = touched(observation)
    checks = (
        (
            observation.server_restarted,
            "PostgreSQL restarted during the row, so its connections before and after "
            "cannot be compared.",
        ),
        (
            _too_patchy(observation),
            f"{observation.sample_gaps} of {observation.expected_samples} samples of "
            "pg_stat_activity were lost, too many to call the row clean.",
        ),
        (
            observation.completed_requests == 0,
            "No request completed, so nothing was exercised.",
        ),
        (
            not observation.answered and not (evidence_known and reached),
            collector.no_answer_reason(observation, evidence(observation), known=evidence_known),
        ),
        (
            evidence_known and not reached and observation.exercised_requests == 0,
            f"Every response was a 4xx client error and nothing touched the database "
            f"({evidence(observation)} during the row), so the handler never reached it; "
            "check --endpoint and --body.",
        ),
        (
            evidence_known and not reached,
            f"Nothing touched the database during the row ({evidence(observation)}), so "
            "nothing could leak there; check that the endpoint uses this database (with "
            "--url: --dsn and --application-name).",
        ),
        (
            not evidence_known and observation.exercised_requests == 0,
            "Every response was a 4xx client error and the database's own counts are "
            "unknown, so the handler may never have run; check --endpoint and --body.",
        ),
        (
            not evidence_known and peak_total == 0,
            "No connection to the database was seen during the row, so nothing could leak "
            "there; check that the endpoint uses this database (with --url: --dsn and "
            "--application-name).",
        ),
    )
    for failed, reason in checks:
        if failed:
            return reason
    unseen = collector.unseen_pool_doubt(observation)
    if unseen is not None:
        return unseen
    if ends is not None and ends.terminated > 0:
        return _termination_reason(ends)
    return None


def _termination_reason(ends: SessionEnds) -> str:
    return (
        f"PostgreSQL ended {ends.terminated} session(s) of the database during the row "
        f"({ends.fatal} by a FATAL error such as idle_in_transaction_session_timeout, "
        f"{ends.killed} by pg_terminate_backend): a leaked connection may have been ended "
        "silently, so the row cannot be called clean; turn the timeout off for the test "
        "(or make it longer than the row) and run again."
    )


def _too_patchy(observation: Observation) -> bool:
    if observation.expected_samples <= 0:
        return observation.sample_gaps > 0
    return observation.sample_gaps / observation.expected_samples > MAX_GAP_SHARE
