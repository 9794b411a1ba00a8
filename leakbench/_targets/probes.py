"""Reading the in-target probes of one app, over their Unix sockets in a control folder.

One probe answers per process of the app (every uvicorn worker; with
``leakbench probe``, every Python process the command starts). Used for a
target leakbench started and for an app started under ``leakbench probe``
that attach mode and watch read: figures are summed over the processes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from leakbench._results import CheckoutSite, EngineSite, MadeEngines, PoolStats, Reclaims
from leakbench._targets.probe import ask


class ProbeClient:
    """The probes listening in ``control_dir`` (``ctl-PID.sock``, one per process)."""

    def __init__(self, control_dir: Path) -> None:
        self.control_dir = control_dir

    def sockets(self) -> list[Path]:
        return sorted(self.control_dir.glob("ctl-*.sock"))

    def ask_all(self, command: str) -> list[dict[str, Any]]:
        """Every probe's answer; a socket left by a process that is gone answers nothing."""
        answers = []
        for path in self.sockets():
            answer = ask(path, command)
            if answer is not None:
                answers.append(answer)
        return answers

    def pool_stats(self) -> PoolStats | None:
        """The pool counters summed over the processes, if any uses SQLAlchemy or has a
        psycopg_pool pool."""
        answers = [
            a for a in self.ask_all("stats") if a.get("sqlalchemy") or a.get("psycopg_pools")
        ]
        if not answers:
            return None

        def total(key: str) -> int:
            return sum(int(str(a.get(key, 0))) for a in answers)

        # Workers run the same app; one that has not checked out yet has seen no pool.
        capacities = [int(str(a["capacity"])) for a in answers if a.get("capacity") is not None]
        idle = [int(str(a["idle_capacity"])) for a in answers if a.get("idle_capacity") is not None]
        return PoolStats(
            connects=total("connect"),
            checkouts=total("checkout"),
            checkins=total("checkin"),
            detaches=total("detach"),
            invalidations=total("invalidate"),
            closes=total("close"),
            timeouts=total("timeout"),
            capacity=max(capacities) if capacities else None,
            idle_capacity=max(idle) if idle else None,
            reclaimed=total("reclaimed"),
            pools_made=total("pool"),
            psycopg_pools=total("psycopg_pools"),
            psycopg_checked_out=total("psycopg_checked_out"),
            psycopg_waiting=total("psycopg_waiting"),
        )

    def mark_checkouts(self) -> None:
        """Tell every probe that checkouts, reclaims and pools from now on are the row's."""
        self.ask_all("mark")

    def outstanding_checkouts(self) -> frozenset[str]:
        """``pid:number`` of each of the row's checkouts not returned yet, over the processes."""
        held: set[str] = set()
        for answer in self.ask_all("outstanding"):
            numbers = answer.get("checkouts")
            for number in numbers if isinstance(numbers, list) else []:
                held.add(f"{answer.get('pid')}:{number}")
        return frozenset(held)

    def checkout_sites(self) -> tuple[CheckoutSite, ...]:
        """Where the row's connections still checked out were taken, summed over the processes."""
        return _summed_sites(a.get("sites") for a in self.ask_all("sites"))

    def checkout_fates(self) -> tuple[tuple[CheckoutSite, ...], tuple[CheckoutSite, ...]] | None:
        """The sites :meth:`checkout_sites` named, split by how their checkouts ended since:
        (still out or ended by the collector: leaks; returned by the app: in flight)."""
        answers = self.ask_all("fates")
        if not answers:
            return None
        leaked: list[dict[str, Any]] = []
        in_flight: list[dict[str, Any]] = []
        for answer in answers:
            listed = answer.get("fates")
            for fate in listed if isinstance(listed, list) else []:
                place = {k: fate[k] for k in ("file", "line", "function")}
                if int(fate["held"]) + int(fate["reclaimed"]):
                    leaked.append({**place, "count": int(fate["held"]) + int(fate["reclaimed"])})
                if int(fate["returned"]):
                    in_flight.append({**place, "count": int(fate["returned"])})
        return _summed_sites([leaked]), _summed_sites([in_flight])

    def reclaims(self) -> Reclaims | None:
        """The row's checkouts the garbage collector ended, over the processes."""
        answers = self.ask_all("reclaims")
        if not answers:
            return None
        firsts = [float(a["first"]) for a in answers if a.get("first") is not None]
        lasts = [float(a["last"]) for a in answers if a.get("last") is not None]
        return Reclaims(
            count=sum(int(a.get("count", 0)) for a in answers),
            first_seconds=min(firsts) if firsts else None,
            last_seconds=max(lasts) if lasts else None,
            sites=_summed_sites(a.get("sites") for a in answers),
        )

    def made_engines(self) -> MadeEngines | None:
        """The pools made during the row that still live, over the processes."""
        answers = self.ask_all("pools")
        if not answers:
            return None
        sites: dict[tuple[str, int, str], list[int]] = {}
        for answer in answers:
            listed = answer.get("sites")
            for site in listed if isinstance(listed, list) else []:
                key = (str(site["file"]), int(site["line"]), str(site["function"]))
                entry = sites.setdefault(key, [0, 0])
                entry[0] += int(site["count"])
                entry[1] += int(site["connections"])
        ordered = sorted(sites.items(), key=lambda item: (-item[1][1], item[0]))
        lasts = [float(a["last"]) for a in answers if a.get("last") is not None]
        return MadeEngines(
            made=sum(int(a.get("made", 0)) for a in answers),
            alive=sum(int(a.get("alive", 0)) for a in answers),
            holding=sum(int(a.get("holding", 0)) for a in answers),
            connections=sum(int(a.get("connections", 0)) for a in answers),
            processes=len(answers),
            sites=tuple(
                EngineSite(file, line, function, pools, connections)
                for (file, line, function), (pools, connections) in ordered
            ),
            last_made_seconds=max(lasts) if lasts else None,
        )

    def drivers(self) -> tuple[str, ...]:
        """``asyncpg 0.30.0 (AsyncAdaptedQueuePool)`` for each driver in use, its pool classes."""
        pools: dict[str, set[str]] = {}
        for answer in self.ask_all("drivers"):
            listed = answer.get("drivers")
            for entry in listed if isinstance(listed, list) else []:
                pools.setdefault(f"{entry['driver']} {entry['version']}", set()).add(entry["pool"])
        return tuple(f"{driver} ({', '.join(sorted(pools[driver]))})" for driver in sorted(pools))

    def force_gc(self, expected: int) -> bool:
        """Run a full garbage collection in every process; True if ``expected`` ran one (a
        probe whose app's event loop did not run it answers an error, not a count)."""
        ran = [a for a in self.ask_all("gc") if isinstance(a.get("collected"), int)]
        return len(ran) >= max(1, expected)


def _summed_sites(listings: Any) -> tuple[CheckoutSite, ...]:
    counts: dict[tuple[str, int, str], int] = {}
    for sites in listings:
        for site in sites if isinstance(sites, list) else []:
            key = (str(site["file"]), int(site["line"]), str(site["function"]))
            counts[key] = counts.get(key, 0) + int(site["count"])
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(
        CheckoutSite(file=file, line=line, function=function, count=count)
        for (file, line, function), count in ordered
    )
