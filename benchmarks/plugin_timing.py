"""A pytest plugin for benchmarks/pytest_every_test.py: the time spent in ``--leakbench``'s code.

Loaded with ``-p plugin_timing`` next to ``--leakbench``, it wraps the code
the plugin runs per checkout (the pool listener) and per test (the teardown
judgement) with a clock, and prints the totals at the end as one JSON line.
It measures elapsed time, so a thread waiting for the GIL inside the
listener counts: an upper bound of the plugin's own cost.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from leakbench.pytest_plugin import every_test, ledger

MARKER = "leakbench-plugin-timing:"
TOTALS = {"checkout_s": 0.0, "checkouts": 0, "teardown_s": 0.0, "tests": 0}


def _timed(original: Callable[..., Any], seconds: str, count: str) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            TOTALS[seconds] += time.perf_counter() - started
            TOTALS[count] += 1

    return timed


# Before pytest_configure installs the listeners, so the bound methods it takes are these.
ledger.CheckoutLedger._on_checkout = _timed(  # type: ignore[method-assign]
    ledger.CheckoutLedger._on_checkout, "checkout_s", "checkouts"
)
every_test.EveryTest._judge_test = _timed(  # type: ignore[method-assign]
    every_test.EveryTest._judge_test, "teardown_s", "tests"
)


def pytest_unconfigure() -> None:
    print(MARKER, json.dumps(TOTALS))
