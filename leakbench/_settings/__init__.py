"""Frozen, validated settings for one leakbench run.

The command line builds a :class:`RunConfig`; the Python API takes one.
Every value is checked here, once, so the rest of the code can trust it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path

from leakbench._settings import defaults
from leakbench._settings._endpoints import COMMAND_ENDPOINT, Endpoint, Workload
from leakbench._settings._env import PLACEHOLDER_HELP, PLACEHOLDERS, EnvTemplate
from leakbench._settings._limits import (
    LARGEST_SECONDS,
    MAX_CONCURRENCY,
    MAX_DURATION_SECONDS,
    MAX_RATE,
    MAX_REQUESTS,
    MAX_SETTLE_SECONDS,
)
from leakbench._settings._targets import (
    AttachTarget,
    LoadCommand,
    Target,
    TargetInterpreter,
    TargetKind,
    WatchTarget,
)
from leakbench._settings.clients import (
    DEFAULT_WEBSOCKET,
    PERFECT_CLIENT,
    ClientBehaviour,
    WebSocketSpec,
)
from leakbench._settings.requests import (
    BODY_METHODS,
    HTTP_METHODS,
    RequestSettings,
)
from leakbench._verdict.thresholds import Thresholds
from leakbench.errors import UsageError

DEFAULT_BODY = defaults.BODY
# The settings, with those of its private modules (and BODY_METHODS, HTTP_METHODS, which
# callers long found here).
__all__ = [
    "BODY_METHODS",
    "COMMAND_ENDPOINT",
    "DEFAULT_BODY",
    "HTTP_METHODS",
    "LARGEST_SECONDS",
    "MAX_CONCURRENCY",
    "MAX_DURATION_SECONDS",
    "MAX_RATE",
    "MAX_REQUESTS",
    "MAX_SETTLE_SECONDS",
    "PLACEHOLDERS",
    "PLACEHOLDER_HELP",
    "AttachTarget",
    "Endpoint",
    "EnvTemplate",
    "LoadCommand",
    "LoadSettings",
    "PoolSettings",
    "RunConfig",
    "Target",
    "TargetInterpreter",
    "TargetKind",
    "VerdictSettings",
    "WatchTarget",
    "Workload",
]


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """The SQLAlchemy pool settings handed to scenario targets."""

    pool_size: int = defaults.POOL_SIZE
    max_overflow: int = defaults.MAX_OVERFLOW
    pool_timeout: float = defaults.POOL_TIMEOUT

    def __post_init__(self) -> None:
        if self.pool_size < 1:
            raise UsageError(f"--pool-size {self.pool_size} is invalid; give 1 or more.")
        if self.max_overflow < 0:
            raise UsageError(f"--max-overflow {self.max_overflow} is invalid; give 0 or more.")
        if not 0 < self.pool_timeout <= LARGEST_SECONDS:  # NaN fails every comparison
            raise UsageError(
                f"--pool-timeout {self.pool_timeout} is invalid; give a positive number of seconds."
            )

    @property
    def capacity(self) -> int:
        """How many connections one pool may hold at once."""
        return self.pool_size + self.max_overflow


@dataclass(frozen=True, slots=True)
class LoadSettings:
    """How hard and how long to drive each (target, endpoint) row."""

    concurrency: int = defaults.CONCURRENCY
    duration: float | None = defaults.DURATION
    requests: int | None = None
    request_timeout: float = defaults.REQUEST_TIMEOUT
    # The --body given; None: DEFAULT_BODY for POST, PUT and PATCH, none otherwise.
    body: bytes | None = None
    # Open loop: requests per second, due at a fixed pace; None is closed loop.
    rate: float | None = None
    # Driver processes sharing the load; None: chosen from the cores and the target's workers.
    driver_processes: int | None = None
    # Clients that leave early: --abort, --stream-read, --hold (a mix route may set its own).
    client: ClientBehaviour = PERFECT_CLIENT
    # What a WS route's session sends and receives, and how it ends (--ws-send, ...).
    websocket: WebSocketSpec = DEFAULT_WEBSOCKET

    def __post_init__(self) -> None:
        self.client.check_timeout(self.request_timeout)
        if self.driver_processes is not None and not 1 <= self.driver_processes <= 64:
            raise UsageError(
                f"--driver-processes {self.driver_processes} is out of range; give 1 to 64."
            )
        if self.rate is not None and not 0 < self.rate <= MAX_RATE:
            raise UsageError(
                f"--rate {self.rate:g} is out of range; "
                f"give more than 0 and at most {MAX_RATE:g} requests per second."
            )
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise UsageError(
                f"--concurrency {self.concurrency} is out of range; give 1 to {MAX_CONCURRENCY}."
            )
        if self.duration is None and self.requests is None:
            raise UsageError("Give --duration SECONDS or --requests N to bound the load.")
        if self.duration is not None and not 0 < self.duration <= MAX_DURATION_SECONDS:
            raise UsageError(
                f"--duration {self.duration:g} is out of range; "
                f"give more than 0 and at most {MAX_DURATION_SECONDS:g} seconds."
            )
        if self.requests is not None and not 1 <= self.requests <= MAX_REQUESTS:
            raise UsageError(
                f"--requests {self.requests} is out of range; give 1 to {MAX_REQUESTS}."
            )
        if not 0 < self.request_timeout <= LARGEST_SECONDS:  # NaN fails every comparison
            raise UsageError(
                f"--request-timeout {self.request_timeout:g} is invalid; give a positive number."
            )

    def body_for(self, endpoint: Endpoint) -> bytes:
        """The body each request to ``endpoint`` carries: --body if given, else the default."""
        if self.body is not None:
            return self.body
        return DEFAULT_BODY if endpoint.method in BODY_METHODS else b""

    @property
    def time_limit(self) -> float:
        """The longest a row's load may last, whatever was asked."""
        return self.duration if self.duration is not None else MAX_DURATION_SECONDS


@dataclass(frozen=True, slots=True)
class VerdictSettings:
    """What counts as a leak once the target has settled."""

    settle: float = defaults.SETTLE
    quiet_period: float = 1.0
    max_idle_in_transaction: int = defaults.MAX_IDLE_IN_TRANSACTION

    def __post_init__(self) -> None:
        if not 0 <= self.settle <= MAX_SETTLE_SECONDS:
            raise UsageError(
                f"--settle {self.settle:g} is out of range; give 0 to {MAX_SETTLE_SECONDS:g} s."
            )
        if self.quiet_period < 0:
            raise UsageError(f"The quiet period {self.quiet_period:g} must not be negative.")
        if self.max_idle_in_transaction < 0:
            raise UsageError(
                f"--max-idle-in-transaction {self.max_idle_in_transaction} is invalid; "
                "give 0 or more."
            )


@dataclass(frozen=True, slots=True)
class AllRoutes:
    """--all-routes: every operation of the app's OpenAPI schema, each judged in its own row."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # DELETE routes run only when asked, and last.
    destructive: bool = False
    # Each route on a target process of its own (default: one shared, fresh after a leak).
    isolate: bool = False
    # Where the running target serves its schema.
    openapi_path: str = "/openapi.json"


@dataclass(frozen=True, slots=True)
class RunConfig:
    """Everything one ``leakbench run`` needs."""

    targets: tuple[Target, ...]
    endpoints: tuple[Endpoint, ...] = ()
    load: LoadSettings = field(default_factory=LoadSettings)
    pool: PoolSettings = field(default_factory=PoolSettings)
    verdict: VerdictSettings = field(default_factory=VerdictSettings)
    dsn: str | None = None
    workers: int = defaults.WORKERS
    poll_interval: float = defaults.POLL_INTERVAL
    startup_timeout: float = defaults.STARTUP_TIMEOUT
    # Not used to run; recorded in the result so every report is judged the same way.
    thresholds: Thresholds = field(default_factory=Thresholds)
    # Extra variables for spawned targets (--app-env), and SQL run in each fresh database.
    app_env: tuple[EnvTemplate, ...] = ()
    setup_sql: Path | None = None
    attach: AttachTarget | None = None
    # Headers, the default body's type, a --mix and a --login (leakbench._settings.requests).
    requests: RequestSettings = field(default_factory=RequestSettings)
    # --setup-cmd: the app's own set-up (migrations, seed), run in its folder before it starts.
    setup_commands: tuple[str, ...] = ()
    # The Python the targets run on (default: leakbench's own), and, for one column of
    # ``leakbench matrix``, the (package, version asked) pairs its environment was built for.
    interpreter: TargetInterpreter | None = None
    combination: tuple[tuple[str, str], ...] = ()
    # Where each spawned target's output is kept after the run (the report folder's logs/),
    # and whether it is also streamed live to stderr (-v).
    target_logs: Path | None = None
    stream_target_output: bool = False
    # Load from a command instead of the driver; with ``watch``, the only load there is.
    load_command: LoadCommand | None = None
    watch: WatchTarget | None = None
    # --all-routes: the rows come from each target's OpenAPI schema.
    all_routes: AllRoutes | None = None

    def __post_init__(self) -> None:
        if self.all_routes is not None:
            self._check_all_routes()
        if self.load_command is not None and self.endpoints:
            raise UsageError(
                "--load-command chooses its own routes, so --endpoint has no effect with it; "
                "drop --endpoint (one row per target is judged)."
            )
        if self.load_command is not None and self.attach is not None:
            raise UsageError(
                "--load-command with --url: use 'leakbench watch --dsn ... -- COMMAND' to "
                "judge an app you started under your own load."
            )
        if self.watch is not None:
            self._check_watch()
        elif self.attach is not None:
            self._check_attach()
        elif not self.targets:
            raise UsageError("No target to run; give --pattern NAME or --app module:app.")
        names = [variable.name for variable in self.app_env]
        for name in names:
            if names.count(name) > 1:
                raise UsageError(f"--app-env {name} is given twice; give each variable once.")
        if self.setup_sql is not None and not self.setup_sql.is_file():
            raise UsageError(f"--setup-sql {self.setup_sql}: no such file; check the path.")
        self._check_requests()
        if not 1 <= self.workers <= 64:
            raise UsageError(f"--workers {self.workers} is out of range; give 1 to 64.")
        if not 0.01 <= self.poll_interval <= 5:
            raise UsageError(
                f"--poll-interval {self.poll_interval:g} is out of range; give 0.01 to 5 seconds."
            )
        if not 0 < self.startup_timeout <= LARGEST_SECONDS:  # NaN fails every comparison
            raise UsageError(
                f"--startup-timeout {self.startup_timeout:g} is invalid; give a positive number."
            )

    def _check_requests(self) -> None:
        """The rows each target gets, the set-up commands, and the ${NAME}s the requests read."""
        for target in self.targets:
            self.workloads_for(target)
        for command in self.setup_commands:
            _check_command(command)
        self.requests.check_environment()

    def _check_all_routes(self) -> None:
        given = [
            ("--endpoint", bool(self.endpoints)),
            ("--mix", bool(self.requests.mix)),
            ("--load-command", self.load_command is not None),
            ("--url", self.attach is not None),
        ]
        for option, present in given:
            if present:
                raise UsageError(
                    f"--all-routes loads every route of the app's schema, so {option} "
                    "cannot be combined with it; drop one of them "
                    "(--route-include 'GET /orders*' narrows the routes)."
                )

    def _check_attach(self) -> None:
        if self.targets:
            raise UsageError(
                "--url attaches to an app you started; it cannot be combined with --pattern "
                "or --app (run those separately)."
            )
        if self.dsn is None:
            raise UsageError(
                "--url needs --dsn: leakbench does not start your app or its database in "
                "attach mode, so give the database your app uses (--dsn postgresql://...), "
                "whose connections it watches."
            )
        if not self.endpoints and not self.requests.mix:
            raise UsageError(
                "--url needs --endpoint 'METHOD /path' or --mix: leakbench does not know your "
                "app's routes."
            )
        spawned_only = [
            ("--workers", self.workers != 1),
            ("--app-env", bool(self.app_env)),
            ("--setup-sql", self.setup_sql is not None),
            ("--setup-cmd", bool(self.setup_commands)),
        ]
        for option, given in spawned_only:
            if given:
                raise UsageError(
                    f"{option} has no effect with --url: leakbench does not start the app "
                    "in attach mode; drop it, or start the app yourself accordingly."
                )

    def _check_watch(self) -> None:
        if self.targets or self.attach is not None:
            raise UsageError(
                "leakbench watch judges an app you started and load from your own tool; "
                "it cannot be combined with --pattern, --app or --url."
            )
        if self.dsn is None:
            raise UsageError(
                "leakbench watch needs --dsn: give the database your app uses "
                "(--dsn postgresql://...), whose connections it watches."
            )

    def endpoints_for(self, target: Target) -> tuple[Endpoint, ...]:
        """The routes to load on ``target``: the user's choice, else the target's own."""
        if self.endpoints:
            return self.endpoints
        if self.load_command is not None:
            # The command chooses its routes: one row per target, named after the command.
            return (COMMAND_ENDPOINT,)
        if target.default_endpoints or target.default_mix:
            return target.default_endpoints
        raise UsageError(f"No endpoint to load on {target.name!r}; give --endpoint 'POST /path'.")

    def workloads_for(self, target: Target | None) -> tuple[Workload, ...]:
        """The rows of ``target`` (None: the attached app): each endpoint, then the mix, if any."""
        if self.all_routes is not None:
            return ()  # the rows come from the running target's schema
        mix = self.requests.mix
        if target is not None and target.default_mix and not mix and not self.endpoints:
            count = len(target.default_mix)
            own_mix = Workload(f"mix ({count} routes)", target.default_mix)
            return (*(Workload.single(e) for e in self.endpoints_for(target)), own_mix)
        if mix and not self.endpoints:
            endpoints: tuple[Endpoint, ...] = ()
        elif target is None:
            endpoints = self.endpoints
        else:
            endpoints = self.endpoints_for(target)
        rows = [Workload.single(endpoint) for endpoint in endpoints]
        if mix:
            rows.append(Workload(self.requests.mix_label, mix))
        return tuple(rows)

    @property
    def pool_capacity(self) -> int:
        """Connections all target workers together may hold through their pools."""
        return self.workers * self.pool.capacity


def _check_command(command: str) -> None:
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"--setup-cmd {command!r} cannot be split into words ({exc}).") from None
    if not words:
        raise UsageError("--setup-cmd is empty; give a command such as 'alembic upgrade head'.")
