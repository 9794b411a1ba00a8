"""The load driver: httpx2 traffic over a lean transport, with constant-memory latency figures."""

from leakbench.load.driver import LoadPlan, LoadProgress, drive, run_load
from leakbench.load.histogram import LatencyHistogram
from leakbench.load.transport import LoadTransport, ServerDisconnected

__all__ = [
    "LatencyHistogram",
    "LoadPlan",
    "LoadProgress",
    "LoadTransport",
    "ServerDisconnected",
    "drive",
    "run_load",
]
