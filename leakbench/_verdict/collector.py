"""Leaks seen as they happen, not only after the settle: pure functions, no I/O.

Two leaks can leave nothing behind by the time the row is judged, yet are
leaks all the same:

* **Checkouts the garbage collector ended.** A Session or Connection dropped
  without ``close()`` keeps its connection checked out until Python's cyclic
  collector runs; SQLAlchemy then returns it from the dropped holder's
  weakref callback ("The garbage collector is trying to clean up
  non-checked-in connection", ``_finalize_fairy``). Under a busy mix the
  collector runs often and may give every connection back before the
  settle; on a quiet server it may not run for minutes. The in-target probe
  counts each such checkout as it happens, so the verdict no longer depends
  on when the collector ran, nor on what else the mix loads.
* **Engines made during the load and never disposed.** Each ``create_engine``
  makes a pool that keeps its connections open until the engine itself is
  collected. A long-lived engine is made once per process; more pools than
  processes made during the row and still holding connections after the
  settle are engines made per request (or per call), and the connections they
  hold grow with the requests until the server's ``max_connections`` refuses
  more.

Without the pool's own view (an app leakbench did not start, run without
``leakbench probe``) PostgreSQL alone cannot tell connections kept checked
out but idle from a pool that grew: :func:`unseen_pool_doubt` says when a row
cannot be called clean for that reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from leakbench._results import ActivitySample, LeakKind, MadeEngines, Phase, Reclaims
from leakbench._verdict.observation import Observation, residue

# SQLAlchemy's default pool_size: a pool that warmed up to it is no sign of a leak.
DEFAULT_POOL_SIZE = 5
PROBE_COMMAND = "leakbench probe -- uvicorn app.main:app --port 8000"


def reclaim_reason(reclaims: Reclaims) -> str:
    """Why checkouts ended by the collector make a row LEAKED, with when and where."""
    when = ""
    if reclaims.first_seconds is not None and reclaims.last_seconds is not None:
        when = (
            f", between {reclaims.first_seconds:.1f} s and {reclaims.last_seconds:.1f} s "
            "after the load started"
        )
    where = ""
    if reclaims.sites:
        places = "; ".join(f"{site.count} taken at {site.place}" for site in reclaims.sites[:5])
        where = f" ({places})"
    return (
        f"{reclaims.count} checkout(s) were never returned by the app: the garbage collector "
        f"took their connections back from dropped sessions or connections{when}{where}. "
        "Until the collector runs (on a quiet server, possibly minutes) such connections stay "
        "checked out: a leak, whatever is left after the settle."
    )


def engines_leaked(engines: MadeEngines | None, load_seconds: float = 0.0) -> bool:
    """True when engines were made while serving requests, not only while warming up, and
    more of their pools than processes still hold connections after the settle.

    A long-lived engine is made once per process, at import or lazily on the
    first requests (an app may make two or three that way: a primary and a
    replica). Engines made per request and never disposed are made all
    through the load and keep their connections: pools beyond one per
    process, the last made in the second half of the load, are those.
    """
    if engines is None or engines.holding <= max(1, engines.processes):
        return False
    last = engines.last_made_seconds
    return last is None or load_seconds <= 0 or last > load_seconds / 2


def engines_reason(
    engines: MadeEngines,
    *,
    load_seconds: float,
    connections_now: int,
    max_connections: int | None,
) -> str:
    """Why engines made during the row make it LEAKED, with the projection to max_connections."""
    places = "; ".join(
        f"{site.pools} at {site.place} holding {site.connections}" for site in engines.sites[:3]
    )
    text = (
        f"{engines.made} engine pool(s) were made during the row and {engines.holding} were "
        f"still alive after the settle, holding {engines.connections} connection(s) open "
        f"({places}): engines made while serving requests and never disposed keep their "
        "connections until each engine is garbage collected; make one engine per process, "
        "or call engine.dispose()."
    )
    if max_connections and load_seconds > 0 and engines.connections > 0:
        rate = engines.connections / load_seconds
        headroom = max(0, max_connections - connections_now)
        text += (
            f" At this rate ({rate:.1f} connection(s) per second of load) the server's "
            f"max_connections ({max_connections}) "
            + (
                f"would be reached in about {headroom / rate:.0f} s more."
                if headroom
                else "is already reached."
            )
        )
    return text


def unseen_pool_doubt(observation: Observation) -> str | None:
    """Why a row without the pool's view cannot be called clean, if it cannot.

    Only when neither the pool's count nor its sizes are known. Connections
    above the baseline after the settle may be a pool that grew (normal) or
    connections kept checked out but idle (a leak PostgreSQL shows as plain
    idle). Requests that failed or timed out while they stayed, or a growth
    far beyond the baseline (more than doubled, and by more than
    SQLAlchemy's default pool_size), make the second too likely to vouch for
    the row.
    """
    if observation.pool is not None or observation.idle_limit is not None:
        return None
    baseline, final = observation.baseline, observation.after_settle
    failed_requests = observation.failed_requests + observation.server_errors
    grew = final.total - baseline.total
    if grew <= 0:
        return None
    far = grew > max(DEFAULT_POOL_SIZE, baseline.total)
    if not failed_requests and not far:
        return None
    waited = (
        f", while {failed_requests} request(s) failed or timed out (as they do waiting for an "
        "exhausted pool)"
        if failed_requests
        else ", far beyond it"
    )
    return (
        f"PostgreSQL saw {final.total} connection(s) after the settle, {grew} above the "
        f"baseline's {baseline.total}{waited}. Without the pool's own count, connections kept "
        "checked out but idle cannot be told from a pool that grew, so the row cannot be "
        "called clean: start the app with the probe loaded, e.g. "
        f"`{PROBE_COMMAND}`, and attach again."
    )


def no_answer_reason(observation: Observation, evidence: str, *, known: bool) -> str:
    """Why a row none of whose requests got an answer is INCONCLUSIVE (not "every 4xx")."""
    if known:
        return (
            f"{observation.no_answer()} and nothing touched the database ({evidence} during "
            "the row); check that the app answers at --url/--endpoint and raise "
            "--request-timeout if it is slow."
        )
    return (
        f"{observation.no_answer()} and the database's own counts are unknown, so the "
        "handler may never have run; raise --request-timeout if the app is slow."
    )


def kind_with_engines(observation: Observation, kind: LeakKind, *, pool_leaked: int) -> LeakKind:
    """Engines never disposed, when they are what the connections beyond the pools are."""
    final, baseline = observation.after_settle, observation.baseline
    if (
        engines_leaked(observation.made_engines, load_seconds(observation.during))
        and not residue(final, baseline)
        and not pool_leaked
    ):
        return LeakKind.ENGINES_NOT_DISPOSED
    return kind


def seen_as_they_happen(
    observation: Observation, reasons: list[str], kind: LeakKind, leaked: int
) -> tuple[LeakKind, int]:
    """Add the leaks the probe saw as they happened (engines made and kept, checkouts the
    collector ended) to ``reasons``; return the row's leak kind and leaked count."""
    engines = observation.made_engines
    if engines is not None and engines_leaked(engines, load_seconds(observation.during)):
        reasons.append(
            engines_reason(
                engines,
                load_seconds=load_seconds(observation.during),
                connections_now=observation.after_settle.total,
                max_connections=(
                    observation.capacity.max_connections if observation.capacity else None
                ),
            )
        )
        leaked = max(leaked, engines.connections)
        kind = kind if kind is not LeakKind.NONE else LeakKind.ENGINES_NOT_DISPOSED
    reclaims = observation.reclaims
    if reclaims is not None and reclaims.count:
        reasons.append(reclaim_reason(reclaims))
        # Leaked, though returned since: each was out of the pool until the collector ran.
        leaked = max(leaked, reclaims.count)
        kind = kind if kind is not LeakKind.NONE else LeakKind.AWAITING_GC
    return kind, leaked


def load_seconds(samples: Sequence[ActivitySample]) -> float:
    """How long the load ran, by the samples taken during it."""
    during = [s.t for s in samples if s.phase is Phase.LOAD]
    return max(during) - min(during) if len(during) > 1 else 0.0
