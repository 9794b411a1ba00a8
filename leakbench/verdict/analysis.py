"""Pure analysis: from pg_stat_activity samples to a verdict. No I/O here.

The rule (documented in the README):

* Connections idle in transaction or active while requests are in flight are
  *transient*; their peak is reported, never judged.
* After the load stops, the target settles: sampling goes on until its
  connections are back to the baseline for a quiet period, or ``settle``
  seconds pass.
* Whatever is still idle in transaction (beyond ``max_idle_in_transaction``)
  or active above the baseline after the settle is *persistent*: LEAKED.
  So is a target still holding more connections than its pools allow after
  the settle (connections opened outside the pool and kept); a peak above
  the pools during the load alone is transient (short-lived raw connections).
* A forced garbage collection in the target then tells a leak held by a live
  reference (it survives) from one only waiting for the collector (it goes).
* A row that would be CLEAN is INCONCLUSIVE when PostgreSQL itself ended
  sessions of the database during it (idle_in_transaction_session_timeout
  turns a leak into such silent terminations).
* Requests that time out waiting for the pool are a capacity finding, not a
  leak (see :mod:`leakbench.verdict.capacity`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from leakbench.results import ActivitySample, Capacity, Findings, LeakKind, SessionEnds, Verdict
from leakbench.verdict.capacity import capacity_reasons

# More lost samples than this share of the expected count makes the
# observation too patchy to call a row clean.
MAX_GAP_SHARE = 0.2


def is_quiet(sample: ActivitySample, baseline: ActivitySample) -> bool:
    """True when nothing above the baseline is running or holding a transaction."""
    return sample.active <= baseline.active and sample.in_transaction <= baseline.in_transaction


def settle_reached(
    samples: Sequence[ActivitySample], baseline: ActivitySample, quiet_period: float
) -> bool:
    """True when the trailing run of quiet samples spans at least ``quiet_period`` seconds."""
    if not samples or not is_quiet(samples[-1], baseline):
        return False
    first_quiet = samples[-1].t
    for sample in reversed(samples):
        if not is_quiet(sample, baseline):
            break
        first_quiet = sample.t
    return samples[-1].t - first_quiet >= quiet_period


def residue(sample: ActivitySample, baseline: ActivitySample) -> int:
    """Connections above the baseline that are active or inside a transaction."""
    return max(0, sample.in_transaction - baseline.in_transaction) + max(
        0, sample.active - baseline.active
    )


@dataclass(frozen=True, slots=True)
class Observation:
    """Everything measured about one row, as input to :func:`judge`."""

    baseline: ActivitySample
    during: tuple[ActivitySample, ...]
    after_settle: ActivitySample
    settled: bool
    settle_seconds: float
    completed_requests: int
    # Responses that reached the handler (2xx, 3xx, 5xx); -1 when unknown.
    exercised_requests: int = -1
    after_gc: ActivitySample | None = None
    sample_gaps: int = 0
    expected_samples: int = 0
    # Sessions PostgreSQL ended during the row; None when it does not say (before 14).
    session_ends: SessionEnds | None = None
    # The server restarted between the baseline and the after-settle snapshot.
    server_restarted: bool = False
    capacity: Capacity | None = None


def classify_leak(
    baseline: ActivitySample, after_settle: ActivitySample, after_gc: ActivitySample | None
) -> LeakKind:
    """Held by a live reference (survives a collection) or waiting for the collector.

    Counts alone can mislead: requests still queued in the target for a pool
    connection (their client gave up, the server has not) take the
    connections a collection frees and open new transactions at once. So
    when both snapshots name their open transactions, the question is
    whether any of the *same* transactions survived.
    """
    if residue(after_settle, baseline) == 0:
        return LeakKind.NONE
    if after_gc is None:
        return LeakKind.UNKNOWN
    before, after = after_settle.detail, after_gc.detail
    if before is not None and after is not None and before.open_transactions:
        survivors = set(before.open_transactions) & set(after.open_transactions)
        return LeakKind.HELD_BY_REFERENCE if survivors else LeakKind.AWAITING_GC
    if residue(after_gc, baseline) == 0:
        return LeakKind.AWAITING_GC
    return LeakKind.HELD_BY_REFERENCE


_KIND_REASONS = {
    LeakKind.AWAITING_GC: "A forced garbage collection in the target released them.",
    LeakKind.HELD_BY_REFERENCE: (
        "They survived a forced garbage collection: a live reference holds them."
    ),
    LeakKind.UNKNOWN: (
        "No garbage collection could be forced in the target (leakbench did not start it, "
        "or it did not answer), so whether a live reference or the collector holds them "
        "is unknown."
    ),
}


def judge(
    observation: Observation, *, capacity: int | None, max_idle_in_transaction: int = 0
) -> Findings:
    """Turn one row's observation into findings with a verdict and its reasons."""
    baseline, final = observation.baseline, observation.after_settle
    window = (baseline, *observation.during, final)
    peak_idle_in_transaction = max(s.in_transaction for s in window)
    peak_active = max(s.active for s in window)
    peak_total = max(s.total for s in window)
    ages = [s.oldest_transaction_seconds for s in window if s.oldest_transaction_seconds]
    peak_age = max(ages) if ages else None

    extra_in_transaction = max(0, final.in_transaction - baseline.in_transaction)
    extra_active = max(0, final.active - baseline.active)
    leaked = extra_in_transaction + extra_active
    reasons: list[str] = []

    if extra_in_transaction > max_idle_in_transaction:
        reasons.append(
            f"{extra_in_transaction} connection(s) were still idle in transaction "
            f"{observation.settle_seconds:.1f} s after the last request finished."
        )
    if extra_active:
        reasons.append(
            f"{extra_active} connection(s) were still active "
            f"{observation.settle_seconds:.1f} s after the last request finished."
        )
    if capacity is not None and final.total > capacity:
        reasons.append(
            f"The target still held {final.total} connections after the settle, "
            f"more than its pools allow ({capacity})."
        )
    kind = classify_leak(baseline, final, observation.after_gc)
    if reasons:
        verdict = Verdict.LEAKED
        if kind in _KIND_REASONS:
            reasons.append(_KIND_REASONS[kind])
    elif (doubt := _doubt(observation, peak_total)) is not None:
        verdict = Verdict.INCONCLUSIVE
        reasons.append(doubt)
    else:
        verdict = Verdict.CLEAN
        if peak_idle_in_transaction > baseline.in_transaction:
            reasons.append(
                f"Up to {peak_idle_in_transaction} connection(s) were idle in transaction "
                "while requests were in flight (transient), none after the settle."
            )
    if observation.capacity is not None:
        reasons.extend(capacity_reasons(observation.capacity, leaked=verdict is Verdict.LEAKED))
    return Findings(
        verdict=verdict,
        reasons=tuple(reasons),
        baseline=baseline,
        after_settle=final,
        peak_idle_in_transaction=peak_idle_in_transaction,
        peak_active=peak_active,
        peak_total_connections=peak_total,
        peak_oldest_transaction_seconds=peak_age,
        settled=observation.settled,
        settle_seconds=observation.settle_seconds,
        leaked_connections=leaked,
        leak_kind=kind,
        after_gc=observation.after_gc,
        sample_gaps=observation.sample_gaps,
        session_ends=observation.session_ends,
        capacity=observation.capacity,
    )


def _doubt(observation: Observation, peak_total: int) -> str | None:
    """Why a row with no leak still cannot be called clean, if it cannot (first reason wins)."""
    ends = observation.session_ends
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
            observation.exercised_requests == 0,
            "Every response was a 4xx client error, so the handler never ran; "
            "check --endpoint and --body.",
        ),
        (
            peak_total == 0,
            "No connection to the database was seen during the row, so nothing could leak "
            "there; check that the endpoint uses this database (with --url: --dsn and "
            "--application-name).",
        ),
    )
    for failed, reason in checks:
        if failed:
            return reason
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
