"""Issue 20, secrets: a password never reaches the terminal or a report, whoever prints it.

The target's own log (an app printing its DATABASE_URL or crashing with it),
a DSN no parser can read, and a header variable carrying a line break, each
for real: a password-protected server, a real app, a real capture server.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leakbench._cli import app
from leakbench._postgres.embedded import EmbeddedPostgres
from tests.reliability.outputs import assert_never_shown, assert_reports_written, every_output
from tests.reliability.spawn import words

PASSWORD = "Tgt-l0g-s3cret-Pw"
runner = CliRunner()


@pytest.fixture(scope="module")
def secured() -> Iterator[EmbeddedPostgres]:
    with EmbeddedPostgres(password=PASSWORD) as server:
        yield server


def test_a_target_printing_its_database_password_never_shows_it(
    secured: EmbeddedPostgres, tmp_path: Path
) -> None:
    folder = tmp_path / "talkative"
    folder.mkdir()
    (folder / "main.py").write_text(
        "import os\n"
        "print('DATABASE_URL is', os.environ['DATABASE_URL'], flush=True)\n"
        "print('the password is', os.environ['PGPASSWORD'], flush=True)\n"
        "raise RuntimeError('cannot reach the database with ' + os.environ['PGPASSWORD'])\n"
        "app = None\n"
    )
    out = tmp_path / "out"
    dsn = f"postgresql://postgres:{PASSWORD}@127.0.0.1:{secured.port}/postgres"
    result = runner.invoke(
        app,
        [
            *words(f"run --app {folder / 'main.py'}:app -e /x -c 2 -d 1 --no-live --dsn"),
            dsn,
            *words(f"--report-dir {out} --json {tmp_path / 'extra.json'}"),
        ],
    )
    assert result.exit_code == 3, result.output
    assert_reports_written(out)
    outputs = every_output(result.output, out)
    outputs["extra.json"] = (tmp_path / "extra.json").read_text()
    assert_never_shown(PASSWORD, outputs)
    row = json.loads((out / "report.json").read_text())["rows"][0]
    assert row["verdict"] == "FAILED"
    # The app's own lines are still shown, the secret in them masked.
    assert "RuntimeError: cannot reach the database with ***" in row["error"]


@pytest.mark.parametrize(
    ("dsn", "pieces"),
    [
        # An unencoded space: no pattern can tell where the password ends.
        ("postgresql://app:open sesame-W0rd@127.0.0.1:9/db", ["open", "sesame-W0rd"]),
        # An unencoded "@": libpq takes the password's tail for the host.
        ("postgresql://app:p@ssW0rd-xyz@127.0.0.1:9/db", ["ssW0rd-xyz"]),
        # An unencoded "/": the authority ends early, the password's head becomes the port.
        ("postgresql://app:sec/ret-W0rd@127.0.0.1:9/db", ["sec", "ret-W0rd"]),
    ],
)
def test_an_unparsable_dsn_is_refused_without_its_password(
    dsn: str, pieces: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for args, env in (
        (["run", "-p", "try-finally", "--dsn", dsn], {}),
        (["run"], {"LEAKBENCH_DSN": dsn}),
    ):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 2, result.output
        assert result.output.strip().count("\n") == 0, result.output  # one line
        assert "percent-encode" in result.output
        for piece in pieces:
            assert piece not in result.output, f"{piece!r} of the password shown: {result.output}"
    left = [p for p in tmp_path.rglob("*") if p.is_file() or p.parent.name == "reports"]
    assert not left, f"a refused run leaves no report behind: {left}"


class CaptureServer:
    """A loopback HTTP server that answers 200 to everything and keeps every byte it got."""

    def __init__(self) -> None:
        self.received = bytearray()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            pending = b""
            while chunk := conn.recv(65536):
                self.received.extend(chunk)
                pending += chunk
                while b"\r\n\r\n" in pending:
                    _, pending = pending.split(b"\r\n\r\n", 1)
                    conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")

    def close(self) -> None:
        self._listener.close()


def test_a_line_break_in_a_header_variable_is_refused_before_any_request(
    embedded_dsn: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    capture = CaptureServer()
    try:
        result = runner.invoke(
            app,
            [
                *words(f"run --url http://127.0.0.1:{capture.port} -e /x -c 1 -d 0.5"),
                *words("--settle 0.5 --no-live --dsn"),
                embedded_dsn,
                "-H",
                "Authorization: Bearer ${LB_INJECTED_TOKEN}",
            ],
            env={"LB_INJECTED_TOKEN": "tok3n-value\r\nX-Injected: yes"},
        )
    finally:
        capture.close()
    assert result.exit_code == 2, result.output
    assert "${LB_INJECTED_TOKEN} has a line break" in result.output
    assert b"X-Injected" not in capture.received
    assert not capture.received, "no request may be sent"
    assert "tok3n-value" not in result.output
