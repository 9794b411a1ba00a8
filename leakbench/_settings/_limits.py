"""Hard ceilings: a load test on a shared machine must stop by itself even when asked for more.

They are far above any sensible leak test.
"""

from __future__ import annotations

MAX_DURATION_SECONDS = 3600.0
MAX_REQUESTS = 10_000_000
MAX_CONCURRENCY = 10_000
MAX_SETTLE_SECONDS = 600.0
MAX_RATE = 100_000.0
# Beyond this many seconds a timeout is absurd (about 31 years) and overflows timers.
LARGEST_SECONDS = 1e9
