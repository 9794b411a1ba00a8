"""``--all-routes``: every operation of a target's OpenAPI schema, each judged in its own row.

The routes of one target share one target process and one database (unless
``--isolate``): each row still takes its own baseline and settles on its own,
so only the cost of starting a process is saved. A route that leaked, or a
target that died, hands the next route a fresh process (the row says so), so
one leak never poisons the rows after it.

Before its row, each route is called once per candidate request (known ids
and the schema's examples first, then generated values) until one gets past
request validation (anything but 422); that call also feeds the ids a create
route returns to the routes of its items (:mod:`leakbench._openapi.flow`). A
route answered 422 to every candidate is reported as not exercised, never
loaded nor called CLEAN.

The interface is one generator, :func:`route_rows`, which the run loop calls
instead of its per-endpoint rows.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
import time
from collections.abc import Generator, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass

import httpx2

from leakbench._load.driver import LoadProgress
from leakbench._load.processes import ProcessesDriver, chosen_processes
from leakbench._openapi import operations, values
from leakbench._openapi.flow import Flow
from leakbench._openapi.operations import Document, Json, Operation
from leakbench._postgres.poller import ActivityPoller
from leakbench._postgres.server import Server
from leakbench._progress.events import RunObserver
from leakbench._results import Phase, RowResult
from leakbench._runner.row import observe_row
from leakbench._settings import RunConfig, Target, Workload
from leakbench._settings.requests import Header, Route
from leakbench._system import shutdown
from leakbench._targets.handle import Notices, PlannedRow, RowSpec, TargetHandle
from leakbench._targets.login import LoginError, request_headers
from leakbench._targets.process import TargetProcess
from leakbench._targets.spawned import SpawnedTargets
from leakbench._verdict import routes as route_verdicts
from leakbench._verdict import rows as row_verdicts
from leakbench.errors import LeakbenchError, TargetStartError

# Sent as the bearer token to routes that declare one when no --login is given: a route
# that looks its token up in the database is still exercised (and answers 401 after SQL).
PLACEHOLDER_TOKEN = "leakbench-placeholder-token"  # noqa: S105 - not a secret: a made-up value
_QUIET_SECONDS = 2.0
# Seconds a target that leaked is given to stop before it is killed.
_LEAKED_STOP_GRACE = 0.5
_MEDIA_NOT_GENERATED = "its body is {media}, which leakbench does not generate"


@dataclass(frozen=True, slots=True)
class Serving:
    """Where one app's routes run: leakbench's spawned targets, on its set-up database."""

    spawned: SpawnedTargets
    server: Server
    database: str
    target: Target

    @property
    def max_connections(self) -> int | None:
        return self.server.info.max_connections


class RouteTargets:
    """The :class:`leakbench._targets.handle.Targets` of ``--all-routes``.

    leakbench's spawned targets (the same server, databases and set-up), whose
    rows this module measures itself, route by route, on a shared process.
    """

    def __init__(self, config: RunConfig, observer: RunObserver) -> None:
        self.config = config
        self._observer = observer
        self._spawned = SpawnedTargets(config)
        self.command_url = self._spawned.command_url
        self.kept_warnings = self._spawned.kept_warnings
        self.app_versions: Mapping[str, str] | None = None

    def check(self) -> list[str]:
        warnings = self._spawned.check()
        self.app_versions = self._spawned.app_versions  # read by that check
        return warnings

    def opened(self, notices: Notices) -> AbstractContextManager[Server]:
        return self._spawned.opened(notices)

    def server_warnings(self, server: Server, notices: Notices) -> list[str]:
        return self._spawned.server_warnings(server, notices)

    def hidden_reason(self, server: Server) -> str | None:
        return self._spawned.hidden_reason(server)

    def rows(self, server: Server, notices: Notices) -> Generator[PlannedRow | RowResult]:
        for _index, target, database in self._spawned.prepared(server, notices):
            serving = Serving(self._spawned, server, database, target)
            yield from route_rows(self.config, serving, self._observer)


@dataclass(frozen=True, slots=True)
class _Tried:
    """The calls made before a route's row: the one chosen, and every status seen."""

    chosen: values.Call | None
    statuses: tuple[int, ...]


def route_rows(config: RunConfig, serving: Serving, observer: RunObserver) -> Iterator[RowResult]:
    """One row per chosen operation of the target's schema, in order (see the module)."""
    assert config.all_routes is not None
    routes = config.all_routes
    wanted = operations.RouteFilter(routes.include, routes.exclude, routes.destructive)
    # The value generator imports Faker's providers (a second or two on a busy machine):
    # done while the target starts, which takes as long.
    threading.Thread(target=values.preload, name="leakbench-preload", daemon=True).start()
    with contextlib.ExitStack() as stack:
        try:
            process, poller = _start(stack, serving)
        except TargetStartError as exc:
            yield row_verdicts.failed(serving.target.name, "all routes", str(exc))
            return
        try:
            document = _schema(process.base_url, routes.openapi_path, config)
        except TargetStartError as exc:
            yield row_verdicts.failed(serving.target.name, "all routes", str(exc))
            return
        chosen = operations.choose(document.operations, wanted)
        left_out = operations.skipped_destructive(document.operations, wanted)
        if left_out:
            observer.warning(
                f"{left_out} DELETE route(s) of {serving.target.name} left out; give "
                "--destructive to load them too (they run last)."
            )
        if not chosen:
            yield row_verdicts.failed(
                serving.target.name,
                "all routes",
                f"No route of the schema's {len(document.operations)} is left by "
                "--route-include/--route-exclude (DELETE routes need --destructive).",
            )
            return
        flow = Flow()
        logins: dict[tuple[str, bool], tuple[tuple[str, str], ...]] = {}
        note: str | None = None
        for index, operation in enumerate(chosen):
            shutdown.check()
            fresh = routes.isolate and index > 0
            if note is not None or fresh:
                if note is not None and isinstance(process, TargetProcess):
                    # Its requests may wait on a pool the leak emptied: no graceful stop.
                    process.stop(grace=_LEAKED_STOP_GRACE)
                stack.close()
                try:
                    process, poller = _start(stack, serving)
                except TargetStartError as exc:
                    yield row_verdicts.failed(serving.target.name, operation.label, str(exc))
                    for later in chosen[index + 1 :]:
                        yield row_verdicts.failed(
                            serving.target.name,
                            later.label,
                            f"Not attempted: the target did not start for {operation.label} "
                            "(see there).",
                        )
                    return
            row = _route_row(
                config,
                serving,
                document=document,
                operation=operation,
                flow=flow,
                process=process,
                poller=poller,
                observer=observer,
                logins=logins,
            )
            if note is not None:
                row = dataclasses.replace(row, note=note)
            yield row
            note = route_verdicts.fresh_target_note(row, alive=process.alive())


def _start(stack: contextlib.ExitStack, serving: Serving) -> tuple[TargetHandle, ActivityPoller]:
    """A target process for the routes, and the poller of its database."""
    # One process serves several routes: its output file is named after the whole run.
    opened = serving.spawned.open_row(
        serving.server, serving.database, serving.target, "all-routes"
    )
    return stack.enter_context(opened)


def _schema(base_url: str, path: str, config: RunConfig) -> Document:
    """The running target's OpenAPI schema (FastAPI serves it at /openapi.json)."""
    url = base_url + path
    try:
        answer = httpx2.get(url, timeout=config.load.request_timeout)
        data = answer.json() if answer.status_code == 200 else None
    except (httpx2.HTTPError, ValueError) as exc:
        raise TargetStartError(f"--all-routes: cannot read the schema at {url} ({exc}).") from None
    if not isinstance(data, dict):
        raise TargetStartError(
            f"--all-routes: {url} answered {answer.status_code}, not an OpenAPI schema; "
            "--all-routes needs the app's schema (FastAPI's openapi_url)."
        )
    return operations.read(data)


def _route_row(
    config: RunConfig,
    serving: Serving,
    *,
    document: Document,
    operation: Operation,
    flow: Flow,
    process: TargetHandle,
    poller: ActivityPoller,
    observer: RunObserver,
    logins: dict[tuple[str, bool], tuple[tuple[str, str], ...]],
) -> RowResult:
    target = serving.target
    if operation.unsupported_body is not None:
        reason = _MEDIA_NOT_GENERATED.format(media=operation.unsupported_body)
        return route_verdicts.not_exercised(
            target.name, operation.label, f"Not exercised: {reason}."
        )
    row_config = _with_placeholder_token(config, operation)
    # The calls before the rows log in once per target process (a login may be slow:
    # a password hash), and the row logs in as any row does.
    key = (process.base_url, row_config is not config)
    if key not in logins:
        logins[key] = request_headers(
            row_config.requests, process.base_url, config.load.request_timeout
        )
    headers = logins[key]
    candidates = values.calls(operation, document.definitions, flow.known_for(operation), tries=3)
    tried = _try(
        process.base_url,
        operation,
        candidates=candidates,
        headers=headers,
        flow=flow,
        config=config,
    )
    if tried.chosen is None and 422 not in tried.statuses:
        return row_verdicts.failed(
            target.name,
            operation.label,
            f"{operation.label} got no answer to any of {len(tried.statuses)} request(s) "
            f"before its row; the target's log ends: {process.log_tail()}",
        )
    if tried.chosen is None:
        return route_verdicts.not_exercised(
            target.name,
            operation.label,
            f"Not exercised: 422 on every request tried ({len(tried.statuses)}, from the "
            "schema's examples and generated values); give the route an example in the schema.",
        )
    _await_quiet(poller)
    call = tried.chosen
    workload = Workload(
        operation.label,
        (Route(operation.method, call.path, call.body or b"", call.content_type),),
    )
    spec = RowSpec(
        name=target.name,
        workload=workload,
        workers=config.workers,
        per_worker_capacity=config.pool.capacity if target.kind == "scenario" else None,
        max_connections=serving.max_connections,
        per_worker_idle=config.pool.pool_size if target.kind == "scenario" else None,
    )
    observer.row_started(target.name, operation.label, config.load.duration)
    try:
        row = observe_row(
            config=row_config,
            spec=spec,
            target=process,
            poller=poller,
            progress=LoadProgress(),
            observer=observer,
            drive=ProcessesDriver(chosen_processes(config.load.driver_processes, config.workers)),
        )
    except LoginError:
        raise
    except LeakbenchError as exc:
        return row_verdicts.failed(target.name, operation.label, str(exc))
    return route_verdicts.explained(
        row, tried.statuses, logged_in=config.requests.login is not None
    )


def _with_placeholder_token(config: RunConfig, operation: Operation) -> RunConfig:
    """A route that declares a bearer token gets a placeholder one when no --login is given."""
    requests = config.requests
    has_authorization = any(h.name.lower() == "authorization" for h in requests.headers)
    if not operation.bearer or requests.login is not None or has_authorization:
        return config
    placeholder = Header("Authorization", f"Bearer {PLACEHOLDER_TOKEN}")
    return dataclasses.replace(
        config, requests=dataclasses.replace(requests, headers=(*requests.headers, placeholder))
    )


def _try(
    base_url: str,
    operation: Operation,
    *,
    candidates: tuple[values.Call, ...],
    headers: tuple[tuple[str, str], ...],
    flow: Flow,
    config: RunConfig,
) -> _Tried:
    """Call each candidate once until one gets past validation; feed the flow the answers."""
    statuses: list[int] = []
    chosen: values.Call | None = None
    with httpx2.Client(base_url=base_url, timeout=config.load.request_timeout) as client:
        for call in candidates:
            sent = dict(headers)
            if call.content_type is not None:
                sent["Content-Type"] = call.content_type
            try:
                answer = client.request(
                    operation.method, call.path, content=call.body or None, headers=sent
                )
            except httpx2.HTTPError:
                statuses.append(0)
                continue
            statuses.append(answer.status_code)
            flow.answered(operation, answer.status_code, _json(answer.content))
            if answer.status_code < 400:
                return _Tried(call, tuple(statuses))
            if answer.status_code != 422 and chosen is None:
                chosen = call  # past validation; a later candidate may still get a 2xx
    return _Tried(chosen, tuple(statuses))


def _json(content: bytes) -> Json:
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None


def _await_quiet(poller: ActivityPoller) -> None:
    """Let the calls' own transactions end before the row's baseline is taken."""
    deadline = time.monotonic() + _QUIET_SECONDS
    while time.monotonic() < deadline:
        sample = poller.snapshot(Phase.BASELINE)
        if sample is not None and sample.active == 0 and sample.in_transaction == 0:
            return
        time.sleep(poller.interval)
