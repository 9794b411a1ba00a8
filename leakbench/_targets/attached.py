"""Attach mode: load an app the user started (``--url``), watching its database (``--dsn``).

leakbench starts no process and creates or drops no database here. It
judges only the connections to the DSN's database (narrowed to one
``--application-name`` if given), never its own. With no probe inside the
app there is no pool view and no forced garbage collection, so a leak's
kind stays unknown. Load goes only to loopback addresses unless the user
passes ``--allow-remote``.
"""

from __future__ import annotations

import time
from collections.abc import Generator

import httpx2

from leakbench._postgres.server import Server
from leakbench._settings import AttachTarget, RunConfig
from leakbench._settings.dsn import redact
from leakbench._targets.handle import Notices, PlannedRow, RowSpec, UnprobedApp, started_probes
from leakbench._targets.loopback import check_url
from leakbench._targets.probes import ProbeClient
from leakbench._targets.users_app import UsersApp, database_of
from leakbench.errors import TargetStartError

# Not printed at the start (it is no danger), but kept with the result and its reports.
VERSIONS_WARNING = (
    "The versions recorded are those of leakbench's own environment; the app you attached to "
    "may run other ones, so note its own beside this report."
)


class AttachedApp(UnprobedApp):
    """The :class:`leakbench._targets.handle.TargetHandle` of an app leakbench did not start."""

    def __init__(self, url: str, probes: ProbeClient | None = None) -> None:
        super().__init__(probes)
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


def row_name(attach: AttachTarget) -> str:
    """What the table calls the attached app: its base URL, any password redacted."""
    return redact(AttachedApp(attach.url).base_url)


class AttachedTargets(UsersApp):
    """Rows against the user's running app, one per endpoint, on the DSN's database."""

    kept_warnings: tuple[str, ...] = (VERSIONS_WARNING,)

    def __init__(self, config: RunConfig) -> None:
        assert config.attach is not None
        super().__init__(config, config.attach.application_name)
        self.attach = config.attach

    def check(self) -> list[str]:
        # Said before anything is sent, even when the database then turns out unreachable.
        return check_url(self.attach)

    def rows(self, server: Server, notices: Notices) -> Generator[PlannedRow]:
        app = AttachedApp(self.attach.url, started_probes())
        app.wait_until_up(min(self.config.startup_timeout, 5.0))
        database = database_of(server)
        notices.database_created(database)  # not created here, but it is the one watched
        name = row_name(self.attach)
        for workload in self.config.workloads_for(None):
            yield PlannedRow(
                spec=RowSpec(
                    name=name, workload=workload, max_connections=server.info.max_connections
                ),
                label=workload.label,
                duration=self.config.load.duration,
                target_index=0,
                open=lambda: self._poller_of(server, database, app),
            )
