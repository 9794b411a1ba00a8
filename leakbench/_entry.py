"""The ``leakbench`` program's entry point: the command line, with Ctrl-C covered from the start.

Importing the command line takes about half a second (typer, rich, httpx2). A
Ctrl-C in that time, or before a command installs its own signal handling,
would end in a KeyboardInterrupt traceback. Nothing has started then (and
anything started later is stopped by its ``with`` block as the interrupt
unwinds), so it is one line and exit code 130.
"""

from __future__ import annotations

import os
import sys

_EXIT_INTERRUPTED = 130


def main() -> None:
    """Console-script entry point (``leakbench``, ``python -m leakbench``)."""
    try:
        from leakbench._cli import main as command_line  # noqa: PLC0415 - the slow import, covered

        command_line()
    except KeyboardInterrupt:
        sys.stderr.write("leakbench: interrupted by SIGINT; nothing was left running.\n")
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        # Not sys.exit: an interrupt that passed through exec() of a string (dataclasses and
        # namedtuple do that while modules import) marks it "unhandled" for good in CPython,
        # which then ends the process by SIGINT (-2) instead of with the code asked for.
        # The with-blocks have already unwound, so nothing is left to clean up.
        os._exit(_EXIT_INTERRUPTED)
