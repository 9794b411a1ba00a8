"""``--setup-sql FILE``: the app's schema, run in its fresh database before it starts."""

from __future__ import annotations

from pathlib import Path

import psycopg

from leakbench._postgres import admin
from leakbench._settings.dsn import redact
from leakbench.errors import UsageError

_SHOWN_STATEMENT_CHARS = 120


def read_setup_sql(path: Path) -> str:
    """The file's text, or a UsageError naming it (checked before anything starts)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"--setup-sql {path}: cannot read it ({exc.strerror}); check the path."
        ) from None
    except UnicodeDecodeError:
        raise UsageError(f"--setup-sql {path} is not UTF-8 text; save it as UTF-8.") from None
    if not text.strip():
        raise UsageError(f"--setup-sql {path} is empty; give a file of SQL statements.")
    return text


def run_setup_sql(database_dsn: str, path: Path) -> None:
    """Run the whole file in one implicit transaction; on failure name the file, line and error."""
    text = read_setup_sql(path)
    with admin.connect(database_dsn) as conn:
        try:
            # Without parameters psycopg sends the text as one simple query, so a
            # file of several statements runs as is (and all or nothing).
            conn.execute(text)
        except psycopg.Error as exc:
            raise UsageError(_explain(path, text, exc)) from None


def _explain(path: Path, text: str, exc: psycopg.Error) -> str:
    diag = exc.diag
    message = diag.message_primary or str(exc).strip().splitlines()[0]
    where = ""
    position = diag.statement_position
    if position and position.isdigit():
        offset = int(position) - 1
        line_number = text.count("\n", 0, offset) + 1
        line = text.splitlines()[line_number - 1].strip()
        if len(line) > _SHOWN_STATEMENT_CHARS:
            line = line[: _SHOWN_STATEMENT_CHARS - 1] + "…"
        where = f" at line {line_number} ({line})"
    return (
        f"--setup-sql {path} failed{where}: {redact(message)}; "
        "fix the file (it ran in the app's fresh, empty database, all or nothing)."
    )
