"""Attach mode: load an app the user started (``--url``), watching its database (``--dsn``).

leakbench starts no process and creates or drops no database here. It
judges only the connections to the DSN's database (narrowed to one
``--application-name`` if given), never its own. With no probe inside the
app there is no pool view and no forced garbage collection, so a leak's
kind stays unknown. Load goes only to loopback addresses unless the user
passes ``--allow-remote``.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx2

from leakbench.config import AttachTarget, RunConfig
from leakbench.errors import LeakbenchError, TargetStartError, UsageError
from leakbench.load.driver import LoadProgress
from leakbench.load.processes import ProcessesDriver, chosen_processes
from leakbench.postgres import admin
from leakbench.postgres.dsn import redact
from leakbench.postgres.server import Server
from leakbench.progress.events import RunObserver
from leakbench.results import CheckoutSite, PoolStats, RowResult, RunResult, RunSettings, Verdict
from leakbench.runner.outcome import settings_for
from leakbench.runner.row import RowSpec, activity_poller, observe_row
from leakbench.runner.users_app import run_on_users_app
from leakbench.target.login import LoginError

_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


def check_url(attach: AttachTarget) -> list[str]:
    """Refuse a non-loopback target unless allowed; return the warnings to show."""
    host = urlsplit(attach.url).hostname or ""
    if is_loopback(host):
        return []
    if not attach.allow_remote:
        raise UsageError(
            f"--url {redact(attach.url)!r} is not on this machine ({host} is not a loopback "
            "address); leakbench loads only 127.0.0.1/::1 unless you pass --allow-remote, and "
            "then only a service you own."
        )
    return [
        f"Loading {redact(attach.url)}, which is not on this machine (--allow-remote): make sure "
        "you own it and that this load cannot hurt anyone."
    ]


def is_loopback(host: str) -> bool:
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        raise UsageError(
            f"--url host {host!r} cannot be resolved; check the name or give an IP address."
        ) from None
    return all(ipaddress.ip_address(str(info[4][0])).is_loopback for info in infos)


# Not printed at the start (it is no danger), but kept with the result and its reports.
VERSIONS_WARNING = (
    "The versions recorded are those of leakbench's own environment; the app you attached to "
    "may run other ones, so note its own beside this report."
)


class UnprobedApp:
    """An app leakbench did not start: no process to check, no log, no probe inside it.

    So no pool view, no forced garbage collection and no checkout sites.
    """

    base_url = ""
    _MODE = "attach"

    def alive(self) -> bool:
        return True

    def exit_code(self) -> int | None:
        return None

    def log_tail(self, lines: int = 8) -> str:
        del lines
        return f"leakbench has no log of an app it did not start ({self._MODE} mode)."

    def pool_stats(self) -> PoolStats | None:
        return None

    def force_gc(self) -> bool:
        return False

    def mark_checkouts(self) -> None:
        return None

    def outstanding_checkouts(self) -> frozenset[str]:
        return frozenset()

    def checkout_sites(self) -> tuple[CheckoutSite, ...]:
        return ()


class AttachedApp(UnprobedApp):
    """The :class:`leakbench.runner.row.TargetHandle` of an app leakbench did not start."""

    def __init__(self, url: str) -> None:
        self.base_url = url.rstrip("/")

    def wait_until_up(self, timeout: float) -> None:
        """Any HTTP answer (even a 404) shows the app is up; nothing answering is an error."""
        deadline = time.monotonic() + timeout
        with httpx2.Client(timeout=2.0, trust_env=False) as client:
            while True:
                try:
                    client.get(self.base_url + "/")
                except httpx2.HTTPError as exc:
                    if time.monotonic() >= deadline:
                        raise TargetStartError(
                            f"Nothing answers HTTP at {redact(self.base_url)} ({exc}); start "
                            "your app first, or check --url."
                        ) from None
                    time.sleep(0.2)
                    continue
                return


def database_of(server: Server) -> str:
    """The database the DSN connects to (libpq may default it to the user's name)."""
    with admin.connect(server.admin_dsn) as conn:
        return conn.info.dbname


def row_name(attach: AttachTarget) -> str:
    """What the table calls the attached app: its base URL, any password redacted."""
    return redact(AttachedApp(attach.url).base_url)


def attached_rows(config: RunConfig, server: Server, observer: RunObserver) -> Iterator[RowResult]:
    """Measure every endpoint of the attached app, one row each, on the DSN's database."""
    attach = config.attach
    assert attach is not None
    app = AttachedApp(attach.url)
    app.wait_until_up(min(config.startup_timeout, 5.0))
    database = database_of(server)
    observer.database_created(database)  # not created here, but it is the one watched
    name = row_name(attach)
    for workload in config.workloads_for(None):
        spec = RowSpec(name=name, workload=workload, max_connections=server.info.max_connections)
        observer.row_started(name, workload.label, config.load.duration)
        try:
            with activity_poller(
                server.admin_dsn, database, config.poll_interval, attach.application_name
            ) as poller:
                yield observe_row(
                    config=config,
                    spec=spec,
                    target=app,
                    poller=poller,
                    progress=LoadProgress(),
                    observer=observer,
                    drive=ProcessesDriver(
                        chosen_processes(config.load.driver_processes, config.workers)
                    ),
                )
        except LoginError:
            raise  # every request would be refused: stop before any load
        except LeakbenchError as exc:
            yield RowResult(name, workload.label, Verdict.FAILED, None, None, error=str(exc))


def run_attached(config: RunConfig, observer: RunObserver) -> RunResult:
    """Attach mode: rows against the user's running app; nothing started, created or dropped."""
    attach = config.attach
    assert attach is not None
    # Said before anything is sent, even when the database then turns out unreachable.
    warnings = check_url(attach)
    for text in warnings:
        observer.warning(text)
    warnings.append(VERSIONS_WARNING)
    workloads = config.workloads_for(None)

    def under_way(finished: int) -> tuple[str, str] | None:
        # One row per workload, in order: the first without a row was under way.
        return (row_name(attach), workloads[finished].label) if finished < len(workloads) else None

    def settings_of(server: Server) -> RunSettings:
        return dataclasses.replace(
            settings_for(config, server),
            attach_url=redact(attach.url),
            application_name=attach.application_name,
        )

    return run_on_users_app(
        config,
        observer,
        warnings=warnings,
        rows_of=attached_rows,
        application_name=attach.application_name,
        under_way=under_way,
        settings_of=settings_of,
    )
