"""The one exception tree of leakbench.

Every error a user can cause or meet carries a full-sentence message that
names the bad value and what to do, and the process exit code the command
line returns for it. Nothing else is raised across the public API.
"""

from __future__ import annotations

from typing import ClassVar

EXIT_CLEAN = 0
EXIT_LEAKED = 1
EXIT_USAGE = 2
EXIT_RUN_FAILED = 3
EXIT_INCONCLUSIVE = 4
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143


class LeakbenchError(Exception):
    """Base class of every error leakbench raises on purpose."""

    exit_code: ClassVar[int] = EXIT_RUN_FAILED


class UsageError(LeakbenchError):
    """The command line or the configuration asks for something invalid."""

    exit_code: ClassVar[int] = EXIT_USAGE


class RunError(LeakbenchError):
    """The run could not be done: the database or the target failed us."""

    exit_code: ClassVar[int] = EXIT_RUN_FAILED


class DatabaseError(RunError):
    """PostgreSQL could not be reached, started or used."""


class DatabaseUnreachableError(DatabaseError):
    """No server answers at the DSN, or it refused our credentials."""


class DatabasePermissionError(DatabaseError):
    """The DSN's role lacks a right leakbench needs (CREATEDB)."""


class EmbeddedPostgresError(DatabaseError):
    """The embedded PostgreSQL server could not be initialised or started."""


class TargetError(RunError):
    """The application under test could not be started or died."""


class TargetStartError(TargetError):
    """The target never answered HTTP within the start-up timeout."""


class UnsatisfiableVersionsError(UsageError):
    """leakbench matrix: a combination's versions do not exist or cannot be installed together."""


class EnvironmentBuildError(RunError):
    """leakbench matrix: a combination's environment could not be resolved or built."""


class ReportError(RunError):
    """A report file could not be written or read."""


class PartialRun(LeakbenchError):
    """An error ended a run after rows had started: the rows so far, and the error.

    ``result`` (a :class:`~leakbench._results.RunResult`, typed loosely here at
    the bottom of the layers) is reported as any run's; ``cause`` then tells
    what ended it, with its own exit code.
    """

    def __init__(self, cause: BaseException, result: object) -> None:
        self.cause = cause
        self.result = result
        super().__init__(str(cause))


class Interrupted(LeakbenchError):
    """The run was stopped by SIGINT, SIGTERM or --timeout; partial results are kept."""

    exit_code: ClassVar[int] = EXIT_INTERRUPTED

    def __init__(self, reason: str = "SIGINT", timeout: float | None = None) -> None:
        self.reason = reason
        if reason == "timeout":
            message = f"The run exceeded --timeout {timeout or 0:g} s and was stopped"
        else:
            message = f"The run was interrupted by {reason}"
        super().__init__(f"{message}; finished rows were kept.")

    @property
    def code(self) -> int:
        """130 for SIGINT, 143 for SIGTERM, 3 (run not done) for the timeout."""
        return {"SIGTERM": EXIT_TERMINATED, "timeout": EXIT_RUN_FAILED}.get(
            self.reason, EXIT_INTERRUPTED
        )
