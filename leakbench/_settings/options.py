"""The options of ``run`` and ``matrix`` as given, and the checked configurations built from them.

The command line parses options into :class:`RunOptions` (raw values: names,
texts, numbers, as typed); :meth:`RunOptions.config` turns them into a
checked, frozen :class:`~leakbench._settings.RunConfig` or raises a
:class:`~leakbench.errors.UsageError` naming the bad value. The options that
shape the command rather than the run (reports, live view, the global
timeout) stay here for :mod:`leakbench._invoke`. Every field is named as the
``run`` command's parameter, so the parsed options map onto it one to one.
``leakbench matrix`` takes the same options (:class:`MatrixOptions` holds a
:class:`RunOptions`), plus the versions to run them on.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from leakbench._settings import (
    AllRoutes,
    AttachTarget,
    Endpoint,
    EnvTemplate,
    LoadCommand,
    LoadSettings,
    PoolSettings,
    RunConfig,
    Target,
    TargetInterpreter,
    VerdictSettings,
    WatchTarget,
    defaults,
)
from leakbench._settings import dsn as dsn_tools
from leakbench._settings.clients import ClientBehaviour, WebSocketSpec
from leakbench._settings.interpreter import Choice, choose, target_interpreter
from leakbench._settings.matrix import (
    MatrixConfig,
    default_cache_dir,
    parse_axes,
    parse_extra_requirement,
)
from leakbench._settings.request_options import from_options
from leakbench._settings.requests import DEFAULT_TOKEN_FIELD, Route
from leakbench._settings.target_names import parse_app, resolve_patterns
from leakbench._verdict.thresholds import Thresholds, parse_rate
from leakbench.errors import UsageError


@dataclass(frozen=True, slots=True)
class JudgingOptions:
    """The options ``run`` and ``watch`` share: the database, the verdict, the command's own."""

    dsn: str | None = None
    # Attach mode (run --url) and watch: which connections are the app's.
    application_name: str | None = None
    allow_remote: bool = False
    # Another tool's load (--load-command; watch's command).
    judge_failed_load: bool = False
    load_timeout: float = defaults.LOAD_TIMEOUT
    # Verdict.
    settle: float = defaults.SETTLE
    max_idle_in_transaction: int = defaults.MAX_IDLE_IN_TRANSACTION
    poll_interval: float = defaults.POLL_INTERVAL
    # Thresholds.
    fail_on_leak: bool = True
    max_total_connections: int | None = None
    # The command: reports, progress and its own time limit.
    json_path: Path | None = None
    codequality_path: Path | None = None
    report_dir: Path | None = None
    timeout: float = defaults.COMMAND_TIMEOUT
    live: bool = True
    prometheus_port: int | None = None

    def check_command(self) -> None:
        """The options of the command itself, checked before anything starts."""
        check_command_options(self.json_path, self.timeout, self.codequality_path)

    def verdict_settings(self) -> VerdictSettings:
        """How the verdict is reached, checked."""
        return VerdictSettings(
            settle=self.settle, max_idle_in_transaction=self.max_idle_in_transaction
        )


@dataclass(frozen=True, slots=True)
class RunOptions(JudgingOptions):
    """What ``leakbench run`` was given; ``None`` or empty where an option was left out."""

    # What to run.
    pattern: Sequence[str] | None = None
    app_spec: Sequence[str] | None = None
    # Where a module app is imported from (--app-dir); None: the current folder.
    app_dir: Path | None = None
    endpoint: Sequence[str] | None = None
    app_env: Sequence[str] | None = None
    setup_sql: Path | None = None
    url: str | None = None
    # Load (None: the default, lighter with --all-routes).
    concurrency: int | None = None
    duration: float | None = None
    requests: int | None = None
    request_timeout: float = defaults.REQUEST_TIMEOUT
    rate: float | None = None
    # Clients that leave early (leakbench._settings.clients).
    abort: str | None = None
    stream_read: str | None = None
    hold: float | None = None
    ws_send: str = defaults.WS_SEND
    ws_receive: int = defaults.WS_RECEIVE
    ws_drop: bool = False
    # Requests (leakbench._settings.requests): None or empty where left out.
    body: str | None = None
    body_file: Path | None = None
    form: Sequence[str] | None = None
    content_type: str | None = None
    header: Sequence[str] | None = None
    # Text as given, or routes the project file's tables already made.
    mix: Sequence[str | Route] | None = None
    login: str | None = None
    login_form: Sequence[str] | None = None
    login_body: str | None = None
    login_token_field: str = DEFAULT_TOKEN_FIELD
    setup_cmd: Sequence[str] | None = None
    # --all-routes and what narrows it.
    all_routes: bool = False
    route_include: Sequence[str] | None = None
    route_exclude: Sequence[str] | None = None
    destructive: bool = False
    isolate: bool = False
    driver_processes: int | None = None
    # Load from another tool instead of the driver.
    load_command: str | None = None
    # Targets and their pools.
    pool_size: int = defaults.POOL_SIZE
    max_overflow: int = defaults.MAX_OVERFLOW
    pool_timeout: float = defaults.POOL_TIMEOUT
    workers: int = defaults.WORKERS
    startup_timeout: float = defaults.STARTUP_TIMEOUT
    # The app's interpreter (leakbench._targets.interpreter), and the settings file read, if any.
    python: Path | None = None
    settings_file: Path | None = None
    # Thresholds of run only.
    max_error_rate: str | None = None
    max_p95_ms: float | None = None
    # The targets' own output, streamed.
    verbose: bool = False

    def config(self) -> RunConfig:
        """The checked configuration of the run, or a UsageError naming the bad value."""
        attach = self._attach()
        if self.dsn is not None:
            dsn_tools.validate(self.dsn)  # its own error first, whatever else is missing
        default_body, requests = from_options(
            headers=self.header or (),
            form=self.form or (),
            body=self.body,
            body_file=self.body_file,
            content_type=self.content_type,
            mix=self.mix or (),
            login=self.login,
            login_form=self.login_form or (),
            login_body=self.login_body,
            login_token_field=self.login_token_field,
        )
        return RunConfig(
            endpoints=tuple(Endpoint.parse(text) for text in self.endpoint or ()),
            load=LoadSettings(
                concurrency=(
                    self.concurrency
                    if self.concurrency is not None
                    else (
                        defaults.ALL_ROUTES_CONCURRENCY if self.all_routes else defaults.CONCURRENCY
                    )
                ),
                duration=(
                    self.duration
                    if self.duration is not None or self.requests is not None
                    else (defaults.ALL_ROUTES_DURATION if self.all_routes else defaults.DURATION)
                ),
                requests=(
                    defaults.ALL_ROUTES_REQUESTS
                    if self.all_routes and self.duration is None and self.requests is None
                    else self.requests
                ),
                request_timeout=self.request_timeout,
                body=default_body,
                rate=self.rate,
                driver_processes=self.driver_processes,
                client=ClientBehaviour.parse(
                    abort=self.abort, stream_read=self.stream_read, hold=self.hold
                ),
                websocket=WebSocketSpec(self.ws_send, self.ws_receive, self.ws_drop),
            ),
            pool=PoolSettings(self.pool_size, self.max_overflow, self.pool_timeout),
            verdict=self.verdict_settings(),
            dsn=self.dsn,
            workers=self.workers,
            poll_interval=self.poll_interval,
            startup_timeout=self.startup_timeout,
            app_env=tuple(EnvTemplate.parse(text) for text in self.app_env or ()),
            setup_sql=self.setup_sql,
            requests=requests,
            setup_commands=tuple(self.setup_cmd or ()),
            attach=attach,
            interpreter=self._interpreter(attach),
            thresholds=Thresholds(
                fail_on_leak=self.fail_on_leak,
                max_total_connections=self.max_total_connections,
                max_error_rate=(
                    parse_rate(self.max_error_rate) if self.max_error_rate is not None else None
                ),
                max_p95_ms=self.max_p95_ms,
            ),
            load_command=self._load_command(),
            stream_target_output=self.verbose,
            all_routes=self._all_routes(),
            # Last: a bad value of another option is named before "nothing to run".
            targets=self._targets(attach),
        )

    def _all_routes(self) -> AllRoutes | None:
        narrowing = {
            "--route-include": bool(self.route_include),
            "--route-exclude": bool(self.route_exclude),
            "--destructive": self.destructive,
            "--isolate": self.isolate,
        }
        if not self.all_routes:
            for option, given in narrowing.items():
                if given:
                    raise UsageError(f"{option} belongs to --all-routes; give --all-routes too.")
            return None
        return AllRoutes(
            include=tuple(self.route_include or ()),
            exclude=tuple(self.route_exclude or ()),
            destructive=self.destructive,
            isolate=self.isolate,
        )

    def _load_command(self) -> LoadCommand | None:
        if self.load_command is None:
            return None
        driver_options = {
            "--duration": self.duration,
            "--requests": self.requests,
            "--rate": self.rate,
            "--driver-processes": self.driver_processes,
            "--abort": self.abort,
            "--stream-read": self.stream_read,
            "--hold": self.hold,
            "--body": self.body,
            "--body-file": self.body_file,
            "--form": self.form or None,
            "--header": self.header or None,
            "--mix": self.mix or None,
            "--login": self.login,
        }
        for option, value in driver_options.items():
            if value is not None:
                raise UsageError(
                    f"{option} sets leakbench's own load, which --load-command replaces; "
                    "drop it and set the load in the command (use --load-timeout to bound it)."
                )
        try:
            argv = tuple(shlex.split(self.load_command))
        except ValueError as exc:
            raise UsageError(
                f"--load-command {self.load_command!r} cannot be split into words ({exc})."
            ) from None
        return LoadCommand(argv, self.load_timeout, self.judge_failed_load)

    def interpreter_choice(self) -> Choice | None:
        """The Python spawned targets run on; None when no target is spawned (--url)."""
        if self.url is not None:
            return None
        return choose(self.python, self.settings_file, os.environ)

    def _interpreter(self, attach: AttachTarget | None) -> TargetInterpreter | None:
        choice = self.interpreter_choice() if attach is None else None
        return target_interpreter(choice) if choice is not None else None

    def _attach(self) -> AttachTarget | None:
        if self.url is not None:
            return AttachTarget(self.url, self.application_name, self.allow_remote)
        if self.application_name is not None or self.allow_remote:
            raise UsageError(
                "--application-name and --allow-remote belong to attach mode; give --url too."
            )
        return None

    def _targets(self, attach: AttachTarget | None) -> tuple[Target, ...]:
        """The scenarios and apps named, in order; the PR's two scenarios when none is."""
        targets = resolve_patterns(list(self.pattern or ()))
        targets += [parse_app(spec, self.app_dir) for spec in self.app_spec or ()]
        if not targets and attach is None:
            raise UsageError(self._nothing_to_run())
        return tuple(targets)

    def _nothing_to_run(self) -> str:
        # Never a default target: a CI step run in the wrong folder must not go green.
        if self.settings_file is not None:
            where = f"{self.settings_file} names no target"
        else:
            where = (
                "no leakbench.toml or pyproject.toml with a [tool.leakbench] section was found "
                f"from {Path.cwd()} up to the repository root"
            )
        return (
            f"Nothing to run: {where}. Give --app module:app (your service), "
            "--pattern both (the pull request's comparison), --url to attach, "
            "or add app = 'module:app' to a [tool.leakbench] section."
        )


@dataclass(frozen=True, slots=True)
class MatrixOptions:
    """What ``leakbench matrix`` was given: ``run``'s options, and the versions to run them on."""

    run: RunOptions
    # --versions PACKAGE=V1,V2, one text per axis.
    versions: Sequence[str] = ()
    # --with REQUIREMENT: installed in every environment.
    with_requirements: Sequence[str] | None = None
    env_cache: Path | None = None

    def config(self) -> MatrixConfig:
        """The checked configuration of the matrix, or a UsageError naming the bad value."""
        axes = parse_axes(self.versions)  # the matrix's own options are named first
        return MatrixConfig(
            run=self.run.config(),
            axes=axes,
            extra_requirements=tuple(
                parse_extra_requirement(text) for text in self.with_requirements or ()
            ),
            env_cache=self.env_cache or default_cache_dir(),
        )


@dataclass(frozen=True, slots=True)
class WatchOptions(JudgingOptions):
    """What ``leakbench watch`` was given: the load command and how to judge around it."""

    command: Sequence[str] = ()

    def config(self) -> RunConfig:
        """The checked configuration of the watched run, or a UsageError naming the bad value."""
        return RunConfig(
            targets=(),
            verdict=self.verdict_settings(),
            dsn=self.dsn,
            poll_interval=self.poll_interval,
            thresholds=Thresholds(
                fail_on_leak=self.fail_on_leak, max_total_connections=self.max_total_connections
            ),
            load_command=LoadCommand(
                tuple(self.command),
                self.load_timeout,
                self.judge_failed_load,
                allow_remote=self.allow_remote,
            ),
            watch=WatchTarget(self.application_name),
        )


def check_command_options(
    json_path: Path | None, timeout: float, codequality_path: Path | None = None
) -> None:
    """--json and --codequality can be written and --timeout is positive (the command's own).

    Checked before anything starts: finding an unwritable --json after the
    load would cost the run, and its error would stand where the verdict goes.
    """
    for option, path in (("--json", json_path), ("--codequality", codequality_path)):
        if path is not None:
            _check_writable(option, path)
    if not 0 < timeout <= 1e9:  # NaN fails every comparison; 1e30 overflows the timer
        raise UsageError(f"--timeout {timeout:g} is invalid; give a positive number.")


def _check_writable(option: str, path: Path) -> None:
    """A report is written as a temporary file beside ``path``, then renamed onto it."""
    folder = path.resolve().parent
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: the folder {folder} does not exist; create it first.")
    if path.is_dir():
        raise UsageError(f"{option} {path} is a folder; give a file name such as report.json.")
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".leakbench-probe-"):
            pass
    except OSError as exc:
        raise UsageError(
            f"{option} {path} cannot be written ({exc.strerror or exc}); "
            "choose a file in a folder you can write to."
        ) from None
