"""``leakbench run``: start each target, load it, watch its connections, and judge."""

from __future__ import annotations

import typer
from typer._click.core import ParameterSource

from leakbench._cli import options, request_options, run_options
from leakbench._cli.base import (
    announce_interpreter,
    announce_project_config,
    exit_on_error,
)
from leakbench._invoke import run_and_report
from leakbench._settings.options import RunOptions

_DEFAULTS = RunOptions()


def run_command(  # noqa: PLR0917 - typer maps each parameter to an option
    ctx: typer.Context,
    pattern: run_options.Pattern = None,
    app_spec: run_options.AppSpec = None,
    app_dir: run_options.AppDir = None,
    workers: run_options.Workers = _DEFAULTS.workers,
    startup_timeout: run_options.StartupTimeout = _DEFAULTS.startup_timeout,
    python: run_options.Python = None,
    url: run_options.Url = None,
    application_name: options.ApplicationName = None,
    allow_remote: options.AllowRemote = False,
    dsn: options.Dsn = None,
    setup_sql: run_options.SetupSql = None,
    setup_cmd: run_options.SetupCmd = None,
    app_env: run_options.AppEnv = None,
    concurrency: run_options.Concurrency = None,
    duration: run_options.Duration = None,
    requests: run_options.Requests = None,
    rate: run_options.Rate = None,
    request_timeout: run_options.RequestTimeout = _DEFAULTS.request_timeout,
    abort: run_options.Abort = None,
    stream_read: run_options.StreamRead = None,
    hold: run_options.Hold = None,
    ws_send: run_options.WsSend = _DEFAULTS.ws_send,
    ws_receive: run_options.WsReceive = _DEFAULTS.ws_receive,
    ws_drop: run_options.WsDrop = _DEFAULTS.ws_drop,
    driver_processes: run_options.DriverProcesses = None,
    load_command: run_options.LoadCommand = None,
    judge_failed_load: options.JudgeFailedLoad = _DEFAULTS.judge_failed_load,
    load_timeout: options.LoadTimeout = _DEFAULTS.load_timeout,
    timeout: options.Timeout = _DEFAULTS.timeout,
    endpoint: request_options.Endpoint = None,
    body: request_options.Body = None,
    body_file: request_options.BodyFile = None,
    form: request_options.Form = None,
    content_type: request_options.ContentType = None,
    header: request_options.Header = None,
    mix: request_options.Mix = None,
    login: request_options.Login = None,
    login_form: request_options.LoginForm = None,
    login_body: request_options.LoginBody = None,
    login_token_field: request_options.LoginTokenField = _DEFAULTS.login_token_field,
    all_routes: request_options.AllRoutesFlag = False,
    route_include: request_options.RouteInclude = None,
    route_exclude: request_options.RouteExclude = None,
    destructive: request_options.Destructive = False,
    isolate: request_options.Isolate = False,
    pool_size: run_options.PoolSize = _DEFAULTS.pool_size,
    max_overflow: run_options.MaxOverflow = _DEFAULTS.max_overflow,
    pool_timeout: run_options.PoolTimeout = _DEFAULTS.pool_timeout,
    settle: options.Settle = _DEFAULTS.settle,
    max_idle_in_transaction: options.MaxIdleInTransaction = _DEFAULTS.max_idle_in_transaction,
    poll_interval: options.PollInterval = _DEFAULTS.poll_interval,
    fail_on_leak: options.FailOnLeak = _DEFAULTS.fail_on_leak,
    max_total_connections: options.MaxTotalConnections = None,
    max_error_rate: run_options.MaxErrorRate = None,
    max_p95_ms: run_options.MaxP95Ms = None,
    report_dir: options.ReportDir = None,
    json_path: options.JsonPath = None,
    codequality_path: options.CodeQuality = None,
    live: options.Live = _DEFAULTS.live,
    verbose: options.Verbose = False,
    prometheus_port: options.PrometheusPort = None,
) -> None:
    """Start each target, load it, watch its connections, and judge whether it leaks."""
    settings_file = announce_project_config(ctx)
    params = dict(ctx.params)
    if all_routes:
        # The project's own rows (its mix, its endpoints) give way to every route; given
        # on the command line with --all-routes they are a usage error.
        for name in ("mix", "endpoint"):
            if ctx.get_parameter_source(name) is ParameterSource.DEFAULT_MAP:
                params[name] = None
    parsed = RunOptions(**params, settings_file=settings_file)

    def announced_run() -> int:
        announce_interpreter(parsed)
        return run_and_report(parsed)

    exit_on_error(announced_run)
