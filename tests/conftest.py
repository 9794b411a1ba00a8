"""The test lanes (docs/development.md): tests/unit is pure and quick; every test in
tests/integration and tests/reliability is ``slow`` unless it is marked ``quick``.

So a new test with real servers leaves ``pytest -m "not slow"`` quick by
default, and one that is known to take well under a second can join it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_SLOW_LANES = tuple(Path(__file__).parent / lane for lane in ("integration", "reliability"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        in_slow_lane = any(item.path.is_relative_to(lane) for lane in _SLOW_LANES)
        if in_slow_lane and item.get_closest_marker("quick") is None:
            item.add_marker(pytest.mark.slow)
