"""The load driver: httpx2 traffic over a lean transport, with constant-memory latency figures."""

from leakbench._load.driver import LoadPlan, LoadProgress, drive, run_load
from leakbench._load.histogram import LatencyHistogram
from leakbench._load.transport import LoadTransport, ServerDisconnected

__all__ = [
    "LatencyHistogram",
    "LoadPlan",
    "LoadProgress",
    "LoadTransport",
    "ServerDisconnected",
    "drive",
    "run_load",
]
