"""Fixtures shared by the reliability tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.spawn import Spawned


@pytest.fixture
def spawn() -> Iterator[list[Spawned]]:
    """Children the test started; any still running at the end are killed with all they started."""
    started: list[Spawned] = []
    yield started
    for child in started:
        child.kill_everything()
