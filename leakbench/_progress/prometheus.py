"""Live counts of a run in the Prometheus text format, for people who watch runs in Grafana.

``leakbench run --prometheus-port PORT`` serves ``/metrics`` on 127.0.0.1
from a daemon thread (the standard library's HTTP server: one small page,
no new dependency). Names follow postgres_exporter where it has one, so an
existing dashboard works unchanged:

* ``pg_stat_activity_count{datname,state}`` connections of the running
  row's database by state (state ``other`` gathers states leakbench does
  not tell apart);
* ``pg_stat_activity_max_tx_duration{datname}`` seconds the oldest open
  transaction has run, across all states (postgres_exporter splits it by
  state; leakbench samples one figure);

and leakbench's own, labelled by pattern and endpoint:
``leakbench_requests_total``, ``leakbench_request_errors_total{kind}``,
``leakbench_requests_per_second``, ``leakbench_phase{phase}`` and
``leakbench_pool_checked_out`` (the pool's view: live during the load, read
four times a second, then once more after the settle; never during the
settle, when talking to the target could set off the garbage collection
that would hide a leak).
"""

from __future__ import annotations

import contextlib
import errno
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from leakbench._progress.events import DatabaseCreated, Event, RowFinished, RunObserver
from leakbench._progress.tracker import RowSnapshot, RowTracker
from leakbench._results import RowResult
from leakbench.errors import UsageError

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METRICS_PATH = "/metrics"
_HOST = "127.0.0.1"
_STATES = (
    ("active", "active"),
    ("idle", "idle"),
    ("idle in transaction", "idle_in_transaction"),
    ("idle in transaction (aborted)", "idle_in_transaction_aborted"),
    ("other", "other"),
)


@dataclass(frozen=True, slots=True)
class FinishedRow:
    """A finished row's last figures, kept so its counters do not vanish."""

    target: str
    endpoint: str
    completed: int
    errors: int
    server_errors: int
    pool_checked_out: int | None


@dataclass(frozen=True, slots=True)
class MetricsView:
    """Everything one scrape shows."""

    database: str | None
    running: RowSnapshot | None
    finished: tuple[FinishedRow, ...] = ()


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items()) + "}"


class _Family:
    """One metric's HELP, TYPE and samples; written only when it has samples."""

    def __init__(self, name: str, kind: str, help_text: str) -> None:
        self.name, self.kind, self.help_text = name, kind, help_text
        self.lines: list[str] = []

    def add(self, value: float, **labels: str) -> None:
        self.lines.append(f"{self.name}{_labels(**labels)} {value}")

    def render(self) -> list[str]:
        if not self.lines:
            return []
        return [
            f"# HELP {self.name} {self.help_text}",
            f"# TYPE {self.name} {self.kind}",
            *self.lines,
        ]


def _activity(view: MetricsView) -> list[_Family]:
    count = _Family(
        "pg_stat_activity_count", "gauge", "Connections to the target's database by state."
    )
    oldest = _Family(
        "pg_stat_activity_max_tx_duration",
        "gauge",
        "Seconds the oldest open transaction on the target's database has run.",
    )
    sample = view.running.sample if view.running is not None else None
    if sample is not None and view.database is not None:
        for state, field in _STATES:
            count.add(getattr(sample, field), datname=view.database, state=state)
        oldest.add(sample.oldest_transaction_seconds or 0.0, datname=view.database)
    return [count, oldest]


def _rows(view: MetricsView) -> list[_Family]:
    requests = _Family("leakbench_requests_total", "counter", "Requests completed in a row.")
    errors = _Family(
        "leakbench_request_errors_total",
        "counter",
        "Failed requests in a row: transport (connection failures, timeouts) or http_5xx.",
    )
    rate = _Family(
        "leakbench_requests_per_second", "gauge", "Answered requests per second, last second."
    )
    phase = _Family("leakbench_phase", "gauge", "1 for the running row's current phase.")
    pool = _Family(
        "leakbench_pool_checked_out",
        "gauge",
        "Connections checked out of the target's SQLAlchemy pool: live during the load, "
        "then after the settle.",
    )
    for row in view.finished:
        key = {"pattern": row.target, "endpoint": row.endpoint}
        requests.add(row.completed, **key)
        errors.add(row.errors, **key, kind="transport")
        errors.add(row.server_errors, **key, kind="http_5xx")
        if row.pool_checked_out is not None:
            pool.add(row.pool_checked_out, **key)
    running = view.running
    if running is not None:
        key = {"pattern": running.target, "endpoint": running.endpoint}
        requests.add(running.completed, **key)
        errors.add(running.errors, **key, kind="transport")
        errors.add(running.server_errors, **key, kind="http_5xx")
        rate.add(round(running.requests_per_second, 2), **key)
        phase.add(1, **key, phase=running.phase.value)
        if running.pool_checked_out is not None:
            pool.add(running.pool_checked_out, **key)
    return [requests, errors, rate, phase, pool]


def render_metrics(view: MetricsView) -> str:
    """The Prometheus text exposition of ``view``."""
    lines = [line for family in _activity(view) + _rows(view) for line in family.render()]
    return "".join(line + "\n" for line in lines)


class MetricsObserver(RunObserver):
    """Keeps the figures a scrape shows, fed by the run's callbacks from any thread."""

    def __init__(self, tracker: RowTracker | None = None) -> None:
        self.tracker = tracker or RowTracker()
        self._lock = threading.Lock()
        self._database: str | None = None
        self._finished: dict[tuple[str, str], FinishedRow] = {}

    def notify(self, event: Event) -> None:
        match event:
            case DatabaseCreated(database):
                with self._lock:
                    self._database = database
            case RowFinished(row):
                self._finish(row)
            case _:
                self.tracker.apply(event)

    def _finish(self, row: RowResult) -> None:
        running = self.tracker.snapshot()
        load, pool = row.load, row.pool_after_settle
        finished = FinishedRow(
            target=row.target,
            endpoint=row.endpoint,
            completed=load.completed if load else running.completed if running else 0,
            errors=load.errors if load else running.errors if running else 0,
            server_errors=load.server_errors if load else running.server_errors if running else 0,
            pool_checked_out=pool.checked_out if pool is not None else None,
        )
        with self._lock:
            self._finished[(row.target, row.endpoint)] = finished
        self.tracker.finish()

    def view(self) -> MetricsView:
        with self._lock:
            return MetricsView(
                self._database, self.tracker.snapshot(), tuple(self._finished.values())
            )


def _handler(observer: MetricsObserver) -> type[BaseHTTPRequestHandler]:
    class MetricsHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] not in (METRICS_PATH, "/"):
                self.send_error(404, f"Only {METRICS_PATH} is served here.")
                return
            body = render_metrics(observer.view()).encode()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Scrapes are not news: keep the terminal for the run."""

    return MetricsHandler


class MetricsServer:
    """``/metrics`` on 127.0.0.1:PORT in a daemon thread, alive inside a ``with`` block."""

    def __init__(self, observer: MetricsObserver, port: int) -> None:
        if not 0 <= port <= 65535:
            raise UsageError(
                f"--prometheus-port {port} is out of range; give 1 to 65535, or 0 for any free one."
            )
        try:
            self._server = ThreadingHTTPServer((_HOST, port), _handler(observer))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(
                    f"--prometheus-port {port} is already in use on {_HOST}; "
                    "choose another port, or 0 for any free one."
                ) from None
            raise UsageError(
                f"--prometheus-port {port} cannot be opened on {_HOST} ({exc.strerror}); "
                "choose a port from 1024 to 65535, or 0 for any free one."
            ) from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="leakbench-metrics", daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{_HOST}:{self._server.server_address[1]}{METRICS_PATH}"

    def __enter__(self) -> MetricsServer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextlib.contextmanager
def serve_metrics(port: int) -> Iterator[tuple[MetricsObserver, MetricsServer]]:
    """Serve a fresh observer's figures on ``port`` until the block ends."""
    observer = MetricsObserver()
    with MetricsServer(observer, port) as server:
        yield observer, server
