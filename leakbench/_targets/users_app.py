"""What attach and watch modes share: an app leakbench did not start, on the DSN's server.

leakbench opens the user's server (it starts, creates and drops nothing),
says what could hide a leak, and checks, after each row that could be
clean, whether sessions hidden from the role remain
(:mod:`leakbench._targets.visibility`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager

from leakbench._postgres import admin
from leakbench._postgres.poller import ActivityPoller, activity_poller
from leakbench._postgres.privileges import Visibility
from leakbench._postgres.server import Server, open_server, server_warnings
from leakbench._settings import RunConfig
from leakbench._targets import visibility
from leakbench._targets.handle import Notices, TargetHandle


def database_of(server: Server) -> str:
    """The database the DSN connects to (libpq may default it to the user's name)."""
    with admin.connect(server.admin_dsn) as conn:
        return conn.info.dbname


class UsersApp:
    """The parts of :class:`leakbench._targets.handle.Targets` for an app the user runs."""

    command_url: str | None = None
    kept_warnings: tuple[str, ...] = ()
    app_versions: Mapping[str, str] | None = None  # not readable: leakbench did not start it

    def __init__(self, config: RunConfig, application_name: str | None) -> None:
        self.config = config
        self.application_name = application_name
        self._seen: Visibility | None = None

    def opened(self, notices: Notices) -> AbstractContextManager[Server]:
        del notices
        return open_server(self.config.dsn, self.config.startup_timeout)

    def server_warnings(self, server: Server, notices: Notices) -> list[str]:
        del notices
        return [*server_warnings(server), *self.visibility_warnings(server)]

    def visibility_warnings(self, server: Server) -> list[str]:
        """Whether the role sees every session's state; the row verdicts depend on it."""
        self._seen = visibility.role_visibility(server)
        return visibility.warnings_for(self._seen)

    def hidden_reason(self, server: Server) -> str | None:
        if self._seen is None:
            return None
        return visibility.hidden_reason(server, self._seen, self.application_name)

    def _poller_of(
        self, server: Server, database: str, handle: TargetHandle
    ) -> AbstractContextManager[tuple[TargetHandle, ActivityPoller]]:
        @contextmanager
        def opened() -> Iterator[tuple[TargetHandle, ActivityPoller]]:
            with activity_poller(
                server.admin_dsn, database, self.config.poll_interval, self.application_name
            ) as poller:
                yield handle, poller

        return opened()
