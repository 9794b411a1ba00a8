"""One way to get a server, whichever kind: embedded (default) or external (--dsn)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from leakbench._postgres.admin import ServerInfo, connect, server_info
from leakbench._postgres.embedded import EmbeddedPostgres
from leakbench._settings import defaults
from leakbench._settings import dsn as dsn_tools


@dataclass(frozen=True, slots=True)
class Server:
    """A reachable PostgreSQL server and how to administer it."""

    admin_dsn: str
    description: str
    embedded: bool
    info: ServerInfo
    # Folders of embedded servers left by killed runs, removed while starting this one.
    removed_stale: tuple[str, ...] = ()


@contextmanager
def open_server(
    dsn: str | None, startup_timeout: float = defaults.STARTUP_TIMEOUT
) -> Iterator[Server]:
    """Yield the external server at ``dsn``, or start (and later remove) an embedded one."""
    if dsn is not None:
        dsn_tools.validate(dsn)
        with connect(dsn) as conn:
            info = server_info(conn)
        yield Server(dsn, dsn_tools.describe(dsn), embedded=False, info=info)
        return
    with EmbeddedPostgres(startup_timeout=startup_timeout) as embedded:
        with connect(embedded.dsn, embedded=True) as conn:
            info = server_info(conn)
        yield Server(
            embedded.dsn,
            f"embedded PostgreSQL {info.version} on 127.0.0.1:{embedded.port}",
            embedded=True,
            info=info,
            removed_stale=tuple(str(path) for path in embedded.removed_stale),
        )


def server_warnings(server: Server) -> list[str]:
    """What about the server could hide a leak."""
    timeout = server.info.idle_in_transaction_session_timeout
    if timeout not in ("0", "0ms", ""):
        return [
            f"The server sets idle_in_transaction_session_timeout={timeout}: it ends sessions "
            "idle in transaction for longer, which can hide a leak as silent terminations."
        ]
    return []
