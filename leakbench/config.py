"""Frozen, validated settings for one leakbench run.

The command line builds a :class:`RunConfig`; the Python API takes one.
Every value is checked here, once, so the rest of the code can trust it.
"""

from __future__ import annotations

import os
import re
import shlex
import string
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from leakbench.client_spec import DEFAULT_WEBSOCKET, PERFECT_CLIENT, ClientBehaviour, WebSocketSpec
from leakbench.errors import UsageError
from leakbench.request_spec import (
    BODY_METHODS,
    HTTP_METHODS,
    RequestSettings,
    Route,
    parse_method_path,
)
from leakbench.verdict.thresholds import Thresholds

# Hard ceilings: a load test on a shared machine must stop by itself even when
# asked for more. They are far above any sensible leak test.
MAX_DURATION_SECONDS = 3600.0
MAX_REQUESTS = 10_000_000
MAX_CONCURRENCY = 10_000
MAX_SETTLE_SECONDS = 600.0
MAX_RATE = 100_000.0

DEFAULT_BODY = b'{"name": "test"}'
__all__ = ["BODY_METHODS", "HTTP_METHODS"]  # re-exported: callers long found them here


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """The SQLAlchemy pool settings handed to scenario targets."""

    pool_size: int = 2
    max_overflow: int = 10
    pool_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.pool_size < 1:
            raise UsageError(f"--pool-size {self.pool_size} is invalid; give 1 or more.")
        if self.max_overflow < 0:
            raise UsageError(f"--max-overflow {self.max_overflow} is invalid; give 0 or more.")
        if self.pool_timeout <= 0:
            raise UsageError(
                f"--pool-timeout {self.pool_timeout} is invalid; give a positive number of seconds."
            )

    @property
    def capacity(self) -> int:
        """How many connections one pool may hold at once."""
        return self.pool_size + self.max_overflow


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One HTTP route to load: a method and a path."""

    method: str
    path: str

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """Parse ``"POST /orders"``, ``"/orders"`` (POST) or a bare name ``"ok"`` (POST /ok)."""
        method, path = parse_method_path(text.strip(), "--endpoint")
        return cls(method=method, path=path)

    @property
    def label(self) -> str:
        """The name shown in tables: the bare path for POST (as the PR), else 'GET /x'."""
        return self.path if self.method == "POST" else f"{self.method} {self.path}"


@dataclass(frozen=True, slots=True)
class Workload:
    """What one row sends: one route (an --endpoint) or a weighted mix of them (--mix)."""

    label: str
    routes: tuple[Route, ...]

    @classmethod
    def single(cls, endpoint: Endpoint) -> Workload:
        return cls(endpoint.label, (Route(endpoint.method, endpoint.path),))

    @property
    def is_mix(self) -> bool:
        return len(self.routes) > 1


@dataclass(frozen=True, slots=True)
class LoadSettings:
    """How hard and how long to drive each (target, endpoint) row."""

    concurrency: int = 300
    duration: float | None = 8.0
    requests: int | None = None
    request_timeout: float = 10.0
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
        if self.request_timeout <= 0:
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


# The row of a target loaded by --load-command without --endpoint: the command picks the routes.
COMMAND_ENDPOINT = Endpoint("GET", "/")

TargetKind = Literal["scenario", "app"]


@dataclass(frozen=True, slots=True)
class Target:
    """An application to start under uvicorn: a shipped scenario or the user's app."""

    name: str
    app: str
    kind: TargetKind = "scenario"
    app_dir: Path | None = None
    default_endpoints: tuple[Endpoint, ...] = ()
    # Versions the target needs, as (package, specifier) pairs such as ("fastapi", ">=0.121");
    # ``leakbench matrix`` shows "n/a" in the columns that do not meet them.
    requires: tuple[tuple[str, str], ...] = ()
    # The drivers a matrix's driver axis may switch the target's database URL to; empty
    # for an app, which picks its own.
    drivers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TargetInterpreter:
    """The Python that runs the targets, and folders put first on their ``PYTHONPATH``.

    By default a target runs on leakbench's own interpreter. ``leakbench matrix``
    runs it on the interpreter of an environment built for one combination of
    versions; that environment holds the app's stack but not leakbench, so the
    folder with leakbench's target-side code (``leakbench.target.boot``, the
    probe, the shipped scenarios) goes on the target's ``PYTHONPATH``.
    """

    executable: str
    pythonpath: tuple[str, ...] = ()
    # More environment variables for the targets, as (name, value) pairs.
    variables: tuple[tuple[str, str], ...] = ()

    @classmethod
    def current(cls) -> TargetInterpreter:
        """leakbench's own interpreter, with nothing added."""
        return cls(sys.executable)

    @property
    def is_current(self) -> bool:
        return self.executable == sys.executable and not self.pythonpath and not self.variables

    def environment(self, env: Mapping[str, str]) -> dict[str, str]:
        """``env`` with this interpreter's variables, and its folders first on ``PYTHONPATH``."""
        result = {**env, **dict(self.variables)}
        if self.pythonpath:
            inherited = [part for part in env.get("PYTHONPATH", "").split(os.pathsep) if part]
            result["PYTHONPATH"] = os.pathsep.join([*self.pythonpath, *inherited])
        return result


@dataclass(frozen=True, slots=True)
class VerdictSettings:
    """What counts as a leak once the target has settled."""

    settle: float = 5.0
    quiet_period: float = 1.0
    max_idle_in_transaction: int = 0

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


# --app-env: the placeholders a template may use, and what each one stands for.
PLACEHOLDERS: dict[str, str] = {
    "url": "postgresql://user:password@host:port/dbname",
    "url+DRIVER": "the same URL for a SQLAlchemy driver, e.g. {url+psycopg} or {url+asyncpg}",
    "dsn": "libpq key=value form: host=... port=... user=... dbname=...",
    "host": "server host",
    "port": "server port",
    "user": "user name",
    "password": "the password as is, empty when there is none",
    "dbname": "the fresh database's name",
}
_PLAIN_FIELDS = frozenset(name for name in PLACEHOLDERS if name != "url+DRIVER")
_DRIVER_FIELD = re.compile(r"^url\+([a-z][a-z0-9_]*)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Variables leakbench itself sets in the target to reach its probe.
_RESERVED_PREFIX = "LEAKBENCH_"

PLACEHOLDER_HELP = (
    "Placeholders: "
    + ", ".join(f"{{{name}}} ({meaning})" for name, meaning in PLACEHOLDERS.items())
    + "; write {{ and }} for literal braces."
)


@dataclass(frozen=True, slots=True)
class EnvTemplate:
    """One ``--app-env NAME=TEMPLATE``: a variable the target gets, built from its database."""

    name: str
    template: str

    def __post_init__(self) -> None:
        shown = f"{self.name}={self.template}"
        if not _ENV_NAME.match(self.name):
            raise UsageError(
                f"--app-env {shown!r} has an invalid variable name {self.name!r}; "
                "use letters, digits and underscores, not starting with a digit."
            )
        if self.name.upper().startswith(_RESERVED_PREFIX):
            raise UsageError(
                f"--app-env {shown!r}: names starting with {_RESERVED_PREFIX} are leakbench's "
                "own; choose another name (pool settings have their own options)."
            )
        for name in self.fields():
            if name not in _PLAIN_FIELDS and not _DRIVER_FIELD.match(name):
                raise UsageError(
                    f"--app-env {shown!r} has an unknown placeholder {{{name}}}; "
                    f"use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}."
                )

    @classmethod
    def parse(cls, text: str) -> EnvTemplate:
        """Parse ``NAME=TEMPLATE`` such as ``ORDERS_DB={url+psycopg}``."""
        name, sep, template = text.partition("=")
        if not sep:
            raise UsageError(
                f"--app-env {text!r} is malformed; write NAME=TEMPLATE such as "
                "'ORDERS_DB={url+psycopg}'."
            )
        return cls(name=name.strip(), template=template)

    def fields(self) -> tuple[str, ...]:
        """The placeholder names in the template, in order; raises UsageError if malformed."""
        return tuple(name for _, name in self._pieces() if name)

    def render(self, values: Mapping[str, str]) -> str:
        """The template filled from :func:`leakbench.target.env.placeholder_values`."""
        out: list[str] = []
        for literal, name in self._pieces():
            out.append(literal)
            if name:
                out.append(_lookup(values, name))
        return "".join(out)

    def _pieces(self) -> list[tuple[str, str]]:
        shown = f"{self.name}={self.template}"
        try:
            parsed = list(string.Formatter().parse(self.template))
        except ValueError as exc:
            raise UsageError(
                f"--app-env {shown!r} has unbalanced braces ({exc}); "
                "write {{ and }} for literal braces."
            ) from None
        pieces: list[tuple[str, str]] = []
        for literal, name, spec, conversion in parsed:
            if name is not None and (spec or conversion):
                raise UsageError(
                    f"--app-env {shown!r}: placeholders take no format or conversion "
                    f"({name}{'!' + conversion if conversion else ''}"
                    f"{':' + spec if spec else ''}); write the bare name such as {{url}}."
                )
            if name == "":
                raise UsageError(
                    f"--app-env {shown!r} has an empty placeholder {{}}; name one such as {{url}}."
                )
            pieces.append((literal, name or ""))
        return pieces


def _lookup(values: Mapping[str, str], field: str) -> str:
    driver = _DRIVER_FIELD.match(field)
    if driver:
        url = values["url"]
        return f"postgresql+{driver.group(1)}" + url[url.index("://") :]
    return values[field]


@dataclass(frozen=True, slots=True)
class AttachTarget:
    """Attach mode: an app the user started at ``url``, on the database of ``--dsn``.

    Whether the URL's host is loopback (or ``allow_remote`` is set) is checked
    when the run starts (:mod:`leakbench.runner.attach`), as it may need a DNS lookup.
    """

    url: str
    application_name: str | None = None
    allow_remote: bool = False

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(
                f"--url {self.url!r} is not an http(s) URL; give the address your app "
                "listens on, such as http://127.0.0.1:8000."
            )
        if parts.query or parts.fragment:
            raise UsageError(
                f"--url {self.url!r} has a query or fragment; give only the app's base URL "
                "and put the route in --endpoint."
            )
        if self.application_name is not None and not self.application_name.strip():
            raise UsageError("--application-name is empty; give the name your app connects as.")


@dataclass(frozen=True, slots=True)
class LoadCommand:
    """Load from another tool: a command leakbench starts and waits for (watch, --load-command).

    ``{url}`` in an argument is replaced by the target's base URL when
    leakbench started the target. URLs among the arguments are checked to be
    loopback unless ``allow_remote`` (:mod:`leakbench.runner.watch`).
    """

    argv: tuple[str, ...]
    # The longest the command may run before leakbench stops it (and fails the row).
    time_limit: float = 600.0
    # Judge the row even when the command failed (exited non-zero or was stopped).
    judge_failed_load: bool = False
    allow_remote: bool = False

    def __post_init__(self) -> None:
        if not self.argv or not self.argv[0].strip():
            raise UsageError(
                "No load command given; put it after '--', e.g. "
                "leakbench watch --dsn ... -- wrk -d 10s http://127.0.0.1:8000/orders."
            )
        if not 0 < self.time_limit <= MAX_DURATION_SECONDS:
            raise UsageError(
                f"--load-timeout {self.time_limit:g} is out of range; "
                f"give more than 0 and at most {MAX_DURATION_SECONDS:g} seconds."
            )


@dataclass(frozen=True, slots=True)
class WatchTarget:
    """Watch mode: judge the connections of the --dsn database while another tool loads the app.

    leakbench starts no app and sends no request; the load comes from
    :attr:`RunConfig.load_command` (or, through the Locust plugin, from Locust).
    """

    application_name: str | None = None

    def __post_init__(self) -> None:
        if self.application_name is not None and not self.application_name.strip():
            raise UsageError("--application-name is empty; give the name your app connects as.")


@dataclass(frozen=True, slots=True)
class RunConfig:
    """Everything one ``leakbench run`` needs."""

    targets: tuple[Target, ...]
    endpoints: tuple[Endpoint, ...] = ()
    load: LoadSettings = field(default_factory=LoadSettings)
    pool: PoolSettings = field(default_factory=PoolSettings)
    verdict: VerdictSettings = field(default_factory=VerdictSettings)
    dsn: str | None = None
    workers: int = 1
    poll_interval: float = 0.1
    startup_timeout: float = 30.0
    # Not used to run; recorded in the result so every report is judged the same way.
    thresholds: Thresholds = field(default_factory=Thresholds)
    # Extra variables for spawned targets (--app-env), and SQL run in each fresh database.
    app_env: tuple[EnvTemplate, ...] = ()
    setup_sql: Path | None = None
    attach: AttachTarget | None = None
    # Headers, the default body's type, a --mix and a --login (leakbench.request_spec).
    requests: RequestSettings = field(default_factory=RequestSettings)
    # --setup-cmd: the app's own set-up (migrations, seed), run in its folder before it starts.
    setup_commands: tuple[str, ...] = ()
    # The Python the targets run on (default: leakbench's own), and, for one column of
    # ``leakbench matrix``, the (package, version asked) pairs its environment was built for.
    interpreter: TargetInterpreter | None = None
    combination: tuple[tuple[str, str], ...] = ()
    # Load from a command instead of the driver; with ``watch``, the only load there is.
    load_command: LoadCommand | None = None
    watch: WatchTarget | None = None

    def __post_init__(self) -> None:
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
        if self.startup_timeout <= 0:
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
        if target.default_endpoints:
            return target.default_endpoints
        raise UsageError(f"No endpoint to load on {target.name!r}; give --endpoint 'POST /path'.")

    def workloads_for(self, target: Target | None) -> tuple[Workload, ...]:
        """The rows of ``target`` (None: the attached app): each endpoint, then the mix, if any."""
        mix = self.requests.mix
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
