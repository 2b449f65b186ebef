"""Sizes and durations of a run (``Plan``), and the service configurations it measures."""

from __future__ import annotations

from dataclasses import dataclass

CONCURRENCY = 16
"""Connections of the load client in the throughput, profile and soak runs."""
WARM_REQUESTS = 50
"""Unrecorded requests sent to a freshly started server before its c=1 latency run."""
SERVER_READY_S = 120.0
"""How long a server may take from spawn to its first 200 of /health."""
EXECUTOR_THREADS = 2
"""``WORDSIM_EXECUTOR_THREADS`` of every configuration of ours."""
DEFAULT = "ours_w1t2"
"""The service's default configuration (the cold start and the soak use it too)."""
OURS = {"ours_w1t2": 1, "ours_w2t2": 2}
"""Our service's configurations measured: name -> ``WORDSIM_WORKERS``."""


@dataclass(frozen=True)
class Plan:
    """Sizes and durations of one run."""

    limit: int | None
    n_dict: int
    n_ood: int
    tp_s: float
    tp_warmup_s: float
    soak_s: float
    soak_warmup_s: float
    cold_runs: int
    profile_s: float
    soak: bool
    hostile_s: float
    """Each ordinary run of the hostile phase, idle and attacked: 10 s at least, so that a
    trickled head meets its deadline (WORDSIM_REQUEST_TIMEOUT_S) while the attack lasts."""


FULL = Plan(None, 1000, 200, 30.0, 3.0, 60.0, 10.0, 3, 8.0, True, 20.0)
QUICK = Plan(20000, 200, 50, 5.0, 1.0, 12.0, 4.0, 1, 4.0, False, 10.0)
