"""Attach and watch modes' run: rows on an app leakbench did not start, on the DSN's server.

leakbench opens the user's server (it starts, creates and drops nothing),
says what could hide a leak, measures the rows the mode yields, and makes a
row INCONCLUSIVE while sessions hidden from the role remain
(:mod:`leakbench.runner.visibility`). Ctrl-C keeps the finished rows and
marks the one under way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from leakbench.config import RunConfig
from leakbench.postgres.server import Server, open_server
from leakbench.progress.events import RunObserver
from leakbench.results import RowResult, RunResult, RunSettings
from leakbench.runner import visibility
from leakbench.runner.outcome import interrupted_row, now, server_warnings, warn
from leakbench.runner.versions import collect


def run_on_users_app(
    config: RunConfig,
    observer: RunObserver,
    *,
    warnings: list[str],
    rows_of: Callable[[RunConfig, Server, RunObserver], Iterator[RowResult]],
    application_name: str | None,
    under_way: Callable[[int], tuple[str, str] | None],
    settings_of: Callable[[Server], RunSettings],
) -> RunResult:
    """Measure ``rows_of``'s rows and return the result, partial if interrupted.

    ``warnings`` were already shown; the server's are added. ``under_way``
    names the row (pattern, endpoint) that was measured after that many
    finished ones, or None when none was.
    """
    started_at = now()
    rows: list[RowResult] = []
    interrupted = False
    with open_server(config.dsn, config.startup_timeout) as server:
        observer.run_started(server.description)
        warn(observer, warnings, server_warnings(server))
        seen = visibility.role_visibility(server)
        warn(observer, warnings, visibility.warnings_for(seen))
        try:
            for row in rows_of(config, server, observer):
                rows.append(visibility.checked_row(row, server, seen, application_name))
                observer.row_finished(rows[-1])
        except KeyboardInterrupt:
            interrupted = True
            unfinished = under_way(len(rows))
            if unfinished is not None:
                rows.append(interrupted_row(*unfinished))
                observer.row_finished(rows[-1])
        return RunResult(
            rows=tuple(rows),
            versions=collect(server.info.version),
            settings=settings_of(server),
            started_at=started_at,
            finished_at=now(),
            interrupted=interrupted,
            warnings=tuple(warnings),
        )
