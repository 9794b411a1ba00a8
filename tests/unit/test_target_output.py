"""A target's output (leakbench._targets.output): capped, rotated, its last traceback as printed."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from leakbench._targets.output import TargetOutput

_IMPORT_FAILURE = b"""\
INFO: starting
Traceback (most recent call last):
  File "/app/first.py", line 1, in <module>
ValueError: an earlier one, handled
Traceback (most recent call last):
  File "/app/main.py", line 6, in <module>
    settings = connect()
  File "/app/main.py", line 4, in connect
    raise RuntimeError("cannot reach the cache")
RuntimeError: cannot reach the cache
ERROR: Application startup failed. Exiting.
"""


def _followed(
    data: bytes,
    path: Path,
    cap_bytes: int = 1024 * 1024,
    echo: Callable[[str], None] | None = None,
) -> TargetOutput:
    output = TargetOutput(path, cap_bytes=cap_bytes, echo=echo)
    output.follow(io.BytesIO(data))
    output.wait()
    return output


def test_the_last_traceback_is_its_own_lines_ending_at_the_exception(tmp_path: Path) -> None:
    output = _followed(_IMPORT_FAILURE, tmp_path / "target.log")
    assert output.last_traceback() == [
        "Traceback (most recent call last):",
        '  File "/app/main.py", line 6, in <module>',
        "    settings = connect()",
        '  File "/app/main.py", line 4, in connect',
        '    raise RuntimeError("cannot reach the cache")',
        "RuntimeError: cannot reach the cache",
    ]
    assert output.tail(1) == ["ERROR: Application startup failed. Exiting."]


def test_no_traceback_is_an_empty_list(tmp_path: Path) -> None:
    assert _followed(b"just a line\n", tmp_path / "t.log").last_traceback() == []


def test_a_chatty_target_rotates_at_the_cap_and_keeps_its_latest_lines(tmp_path: Path) -> None:
    lines = b"".join(b"line %05d\n" % n for n in range(1000))  # 11 bytes a line
    output = _followed(lines, tmp_path / "target.log", cap_bytes=1000)
    assert output.path.stat().st_size <= 1000 + 11
    assert output.rotated.stat().st_size <= 1000 + 11
    assert output.tail(1) == ["line 00999"]
    saved = output.save(tmp_path / "reports" / "logs" / "row.log")
    assert saved is not None
    kept = saved.read_text().splitlines()
    assert kept[-1] == "line 00999"
    assert len(kept) < 200  # capped: two files' worth, not the whole output
    assert kept == [f"line {n:05d}" for n in range(1000 - len(kept), 1000)]  # in order


def test_each_line_is_echoed_as_it_comes(tmp_path: Path) -> None:
    seen: list[str] = []
    _followed(b"one\ntwo\n", tmp_path / "t.log", echo=seen.append)
    assert seen == ["one", "two"]


def test_an_unwritable_log_still_drains_the_pipe(tmp_path: Path) -> None:
    """The target must never block or die of a broken pipe because its log cannot be written."""
    stream = io.BytesIO(b"one\ntwo\n")
    seen: list[str] = []
    output = TargetOutput(tmp_path / "gone" / "t.log", echo=seen.append)
    output.follow(stream)
    output.wait()
    assert seen == ["one", "two"]  # read to its end
    assert output.tail() == []
    assert stream.closed
