"""Every default of leakbench's settings, defined once.

The configuration's dataclasses, the options as given (and so the command
line, whose defaults are read from :class:`~leakbench._settings.options.RunOptions`),
the project file's schema and the functions of the lower stages all take
their defaults from here, so a default changed here changes everywhere.
"""

from __future__ import annotations

from typing import Final

# The load of one row (leakbench's own driver).
CONCURRENCY: Final = 300
# Seconds of load per row when neither --duration nor --requests bounds it.
DURATION: Final = 8.0
REQUEST_TIMEOUT: Final = 10.0
# The body of POST, PUT and PATCH requests when --body is not given.
BODY: Final = b'{"name": "test"}'
# --all-routes: short, light rows, so a 20-route API is judged in about a minute. A row is
# bounded by a count, not a time, so a slow or busy machine still sends every route enough
# requests to show a leak on one request in 20 (ten of them); the time is only a cap.
ALL_ROUTES_CONCURRENCY: Final = 8
ALL_ROUTES_REQUESTS: Final = 200
ALL_ROUTES_DURATION: Final = 10.0
# A WebSocket route's session: what it sends, how many messages it reads.
WS_SEND: Final = "ping"
WS_RECEIVE: Final = 1
# The field of the login answer holding the bearer token (OAuth2's).
LOGIN_TOKEN_FIELD: Final = "access_token"  # noqa: S105 - a JSON field's name, not a password

# The scenarios' SQLAlchemy pool: the pull request's settings.
POOL_SIZE: Final = 2
MAX_OVERFLOW: Final = 10
POOL_TIMEOUT: Final = 30.0

# Targets.
WORKERS: Final = 1
STARTUP_TIMEOUT: Final = 30.0

# The verdict: how long the target may take to settle, and how often pg_stat_activity is read.
SETTLE: Final = 5.0
POLL_INTERVAL: Final = 0.1
MAX_IDLE_IN_TRANSACTION: Final = 0

# Another tool's load (--load-command, leakbench watch): its time limit.
LOAD_TIMEOUT: Final = 600.0
# The whole command's time limit (--timeout).
COMMAND_TIMEOUT: Final = 3600.0
