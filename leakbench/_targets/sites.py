"""Where the app's own code took a connection: its innermost frame outside any library.

One mechanism for both users of it: the in-target probe (every checkout of
every pool in the target) and the pytest plugin (the checkouts of a watched
engine). It imports only the standard library, so loading it into a target
costs nothing, and it stays cheap per checkout: whether a file belongs to a
library (and how its path is shown) is decided once per file name.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

_LEAKBENCH_DIR = Path(__file__).resolve().parent.parent
# Checkouts from these folders are not the app's code: walk past them.
_LIBRARY_DIRS = tuple(
    sorted(
        {sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
        | {str(_LEAKBENCH_DIR), str(Path(__file__).parent.parent)}
    )
)
# ...except the shipped scenarios (leakbench.scenarios, inside the package once installed):
# they are the app under test when they run. Both spellings: the package folder is a link.
_SCENARIO_DIRS = tuple(
    {
        str(_LEAKBENCH_DIR / "scenarios") + os.sep,
        str(Path(__file__).parent.parent / "scenarios") + os.sep,
    }
)
# Any installed package's folder is a library's too, wherever the environment is: the user
# site, a folder added by a .pth file or PYTHONPATH (as leakbench matrix's environments do).
_INSTALLED_PARTS = tuple(f"{os.sep}{name}{os.sep}" for name in ("site-packages", "dist-packages"))
# co_filename -> how the app's file is shown, or None for a library's (or for
# generated code such as "<string>"): decided once per file.
_SHOWN: dict[str, str | None] = {}


@dataclass(frozen=True, slots=True)
class Site:
    """A line of the app's code: the file (relative to the app's folder when inside it)."""

    file: str
    line: int
    function: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} in {self.function}"


UNKNOWN = Site("unknown code", 0, "?")


def _shown(filename: str) -> str | None:
    """How the app's file is shown (relative to the current folder, the app's, when
    inside it), or None when it is a library's."""
    if filename in _SHOWN:
        return _SHOWN[filename]
    shown: str | None = None
    installed = any(part in filename for part in _INSTALLED_PARTS)
    if filename.startswith(_SCENARIO_DIRS) or (
        not installed and not filename.startswith(("<", *_LIBRARY_DIRS))
    ):
        cwd = str(Path.cwd())
        inside = filename.startswith(cwd + os.sep)
        shown = filename[len(cwd) + 1 :] if inside else filename
    _SHOWN[filename] = shown
    return shown


def _frames(skip: int) -> Iterator[FrameType]:
    """The caller's stack, then its parent greenlet's: SQLAlchemy's asyncio layer runs the
    sync code in a child greenlet, so an async handler's own frames are on the parent's stack."""
    frame: FrameType | None = sys._getframe(skip + 1)
    while frame is not None:
        yield frame
        frame = frame.f_back
    greenlet_module = sys.modules.get("greenlet")
    parent = greenlet_module.getcurrent().parent if greenlet_module else None
    frame = getattr(parent, "gr_frame", None)
    while frame is not None:
        yield frame
        frame = frame.f_back


def caller_site(skip: int = 1) -> Site:
    """The innermost frame of the app's code on the current stack, ``skip`` frames up."""
    for frame in _frames(skip + 1):
        code = frame.f_code
        shown = _shown(code.co_filename)
        if shown is not None:
            return Site(shown, frame.f_lineno, code.co_name)
    return UNKNOWN
