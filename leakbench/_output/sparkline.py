"""A one-line chart of a series in Unicode blocks, for table cells."""

from __future__ import annotations

import math
from collections.abc import Sequence

BLOCKS = "▁▂▃▄▅▆▇█"


def _bucket_maxima(values: Sequence[float], width: int) -> list[float]:
    """Shrink ``values`` to ``width`` points, keeping each bucket's maximum.

    The maximum, not the mean: a leak chart must not smooth a short peak away.
    """
    count = len(values)
    if count <= width:
        return list(values)
    return [max(values[i * count // width : (i + 1) * count // width]) for i in range(width)]


def sparkline(values: Sequence[float], width: int = 16) -> str:
    """Draw ``values`` in at most ``width`` characters, scaled from 0 to their maximum.

    Zero (or less) is the lowest block and any positive value at least the
    second lowest, so a single leaked connection is never drawn as nothing.
    An empty series gives an empty string.
    """
    if width < 1:
        raise ValueError(f"A sparkline needs a width of 1 or more, not {width}.")
    points = _bucket_maxima(values, width)
    top = max(points, default=0.0)
    if top <= 0:
        return BLOCKS[0] * len(points)
    highest = len(BLOCKS) - 1
    return "".join(
        BLOCKS[0] if v <= 0 else BLOCKS[min(highest, max(1, math.ceil(v / top * highest)))]
        for v in points
    )
