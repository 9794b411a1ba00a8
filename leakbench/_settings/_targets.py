"""What a run measures: targets leakbench starts, or an app it attaches to or watches."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from leakbench._settings import defaults
from leakbench._settings._endpoints import Endpoint
from leakbench._settings._limits import MAX_DURATION_SECONDS
from leakbench._settings.requests import Route
from leakbench.errors import UsageError

TargetKind = Literal["scenario", "app"]


@dataclass(frozen=True, slots=True)
class Target:
    """An application to start under uvicorn: a shipped scenario or the user's app."""

    name: str
    app: str
    kind: TargetKind = "scenario"
    app_dir: Path | None = None
    default_endpoints: tuple[Endpoint, ...] = ()
    # A weighted mix the target is judged under, as one more row (a scenario whose leak
    # shows only beside other traffic); used when neither --endpoint nor --mix is given.
    default_mix: tuple[Route, ...] = ()
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
    folder with leakbench's target-side code (``leakbench._targets.boot``, the
    probe, the shipped scenarios) goes on the target's ``PYTHONPATH``.
    """

    executable: str
    pythonpath: tuple[str, ...] = ()
    # More environment variables for the targets, as (name, value) pairs.
    variables: tuple[tuple[str, str], ...] = ()
    # A project's interpreter lacks leakbench: its target side is put first on PYTHONPATH
    # when the target starts (leakbench._targets.interpreter.with_target_code).
    target_code: bool = False

    @classmethod
    def current(cls) -> TargetInterpreter:
        """leakbench's own interpreter, with nothing added."""
        return cls(sys.executable)

    @property
    def is_current(self) -> bool:
        return (
            self.executable == sys.executable
            and not self.pythonpath
            and not self.variables
            and not self.target_code
        )

    def environment(self, env: Mapping[str, str]) -> dict[str, str]:
        """``env`` with this interpreter's variables, and its folders first on ``PYTHONPATH``."""
        result = {**env, **dict(self.variables)}
        if self.pythonpath:
            inherited = [part for part in env.get("PYTHONPATH", "").split(os.pathsep) if part]
            result["PYTHONPATH"] = os.pathsep.join([*self.pythonpath, *inherited])
        return result


@dataclass(frozen=True, slots=True)
class AttachTarget:
    """Attach mode: an app the user started at ``url``, on the database of ``--dsn``.

    Whether the URL's host is loopback (or ``allow_remote`` is set) is checked
    when the run starts (:mod:`leakbench._targets.loopback`), as it may need a DNS lookup.
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
    loopback unless ``allow_remote`` (:mod:`leakbench._targets.loopback`).
    """

    argv: tuple[str, ...]
    # The longest the command may run before leakbench stops it (and fails the row).
    time_limit: float = defaults.LOAD_TIMEOUT
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
