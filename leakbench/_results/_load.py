"""What a row's load did: the driver's figures, or what another tool reports of its own."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Latency percentiles in milliseconds, from a fixed-size histogram."""

    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    mean: float = 0.0


@dataclass(frozen=True, slots=True)
class RouteStats:
    """One route of a mix: what was sent to it and the answers by status."""

    label: str
    weight: int
    status_counts: tuple[tuple[int, int], ...]
    # Transport errors, timeouts and requests the server closed the connection on.
    failures: int = 0
    # This route's own latency percentiles (None in reports older than this field).
    latency: LatencySummary | None = None

    @property
    def completed(self) -> int:
        return sum(count for _, count in self.status_counts) + self.failures

    @property
    def status_classes(self) -> dict[str, int]:
        """Answers by class ("2xx", "4xx"...), in order, plus "failed" when any failed."""
        classes: dict[str, int] = {}
        for status, count in self.status_counts:
            key = f"{status // 100}xx"
            classes[key] = classes.get(key, 0) + count
        if self.failures:
            classes["failed"] = self.failures
        return classes

    def describe(self) -> str:
        """``GET /items/ (weight 3): 1,203 (2xx 1,200, 5xx 3)``, for notes and reports."""
        classes = ", ".join(f"{key} {count:,}" for key, count in self.status_classes.items())
        p95 = f", p95 {self.latency.p95:,.1f} ms" if self.latency is not None else ""
        return (
            f"{self.label} (weight {self.weight}): {self.completed:,} "
            f"({classes or 'none completed'}{p95})"
        )


@dataclass(frozen=True, slots=True)
class LoadStats:
    """What the driver sent and what came back, for one row."""

    sent: int
    status_counts: tuple[tuple[int, int], ...]
    transport_errors: int
    timeouts: int
    elapsed_seconds: float
    latency: LatencySummary
    concurrency: int
    driver_cpu_seconds: float = 0.0
    # Requests the server never answered because it closed a kept-alive
    # connection first (uvicorn does after an app raised): "unanswered" in the
    # table and reports. Neither driver errors nor part of Requests and req/s.
    disconnects: int = 0
    # Time the driver's thread was ready to run but waited for a CPU (Linux
    # schedstat; 0 elsewhere): on a busy machine the driver starves without
    # using a whole core.
    driver_cpu_wait_seconds: float = 0.0
    # A mix row's routes, each with its own counts (empty for a single route).
    routes: tuple[RouteStats, ...] = ()
    # Driver processes that shared the load (--driver-processes); the CPU figures are their sums.
    driver_processes: int = 1
    # Requests whose client left before the answer as asked (--abort), and streamed
    # answers it left part way (--stream-read, --hold): "left" in the table and
    # reports. Neither answers nor errors; latency percentiles leave them out.
    aborted: int = 0
    streams_left: int = 0
    # The most streamed answers (chunked or read until close) open at once.
    peak_open_streams: int = 0

    @property
    def left(self) -> int:
        """Requests and streams the client left early, as asked."""
        return self.aborted + self.streams_left

    @property
    def responses(self) -> int:
        """Requests the server answered, whatever the status: what Requests counts."""
        return sum(count for _, count in self.status_counts)

    @property
    def completed(self) -> int:
        """Requests that got an answer or failed for good."""
        return self.responses + self.transport_errors + self.timeouts + self.disconnects + self.left

    @property
    def errors(self) -> int:
        """Transport failures and timeouts; HTTP statuses are counted separately."""
        return self.transport_errors + self.timeouts

    @property
    def error_rate(self) -> float:
        """Transport failures and timeouts per completed request; 5xx responses are not errors."""
        return self.errors / self.completed if self.completed else 0.0

    @property
    def exercised(self) -> int:
        """Responses that got past request validation (anything but a 4xx)."""
        return sum(count for status, count in self.status_counts if not 400 <= status < 500)

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.status_counts if status >= 500)

    @property
    def rps(self) -> float:
        """Answered requests per second of load: what the app served, not what was tried."""
        return self.responses / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    @property
    def driver_saturated(self) -> bool:
        """True when the driver was running or waiting for a CPU most of the load.

        Then it, not the app, bounded the figures. A driver waiting on the app
        sleeps in epoll most of the time (measured: 15-30 % busy on /ok and on
        a trivial route); one that is the bottleneck is busy over 80 %.
        """
        busy = (self.driver_cpu_seconds + self.driver_cpu_wait_seconds) / self.driver_processes
        return self.elapsed_seconds > 0 and busy / self.elapsed_seconds > 0.8


@dataclass(frozen=True, slots=True)
class ExternalLoad:
    """Load that another tool drove (``leakbench watch``, ``--load-command``, Locust).

    leakbench did not send these requests, so it knows only what the tool
    reports: for a command, its exit code and the end of its output; for
    Locust, its request statistics too.
    """

    # The command line as run (passwords in URLs redacted), or the tool's name.
    command: str
    elapsed_seconds: float
    # None when the load was not a process of ours (the Locust plugin) or never ended.
    exit_code: int | None = None
    # True when leakbench stopped it: its time limit was reached or the run was interrupted.
    stopped: bool = False
    # The last lines of its output (stdout and stderr), for a failure's report.
    output_tail: str = ""
    # The tool's own statistics, when it gives them (Locust does, a command does not).
    requests: int | None = None
    failures: int | None = None
    latency: LatencySummary | None = None

    @property
    def failed(self) -> bool:
        """The load did not end by itself with success."""
        return self.stopped or self.exit_code not in (0, None)

    @property
    def rps(self) -> float | None:
        if self.requests is None or self.elapsed_seconds <= 0:
            return None
        return self.requests / self.elapsed_seconds
