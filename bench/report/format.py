"""Formatting helpers and labels shared by the RESULTS.md sections."""

from __future__ import annotations

LABEL = {
    "ours_w1t2": "ours, WORKERS=1 EXECUTOR_THREADS=2 (default)",
    "ours_w2t2": "ours, WORKERS=2 EXECUTOR_THREADS=2",
}
"""Each measured configuration (``bench.phases.plan``) as the tables name it."""
SHORT = {
    "ours_w1t2": "W1T2",
    "ours_w2t2": "W2T2",
}
"""Each configuration as the targets and the analysis name it."""


SETS = (("dict", "latency_dict", "dictionary words"), ("ood", "latency_ood", "OOD phrases"))
"""The two query sets: key in the search results, key in a service's results, label."""


def cores(r: dict) -> str:
    """The run's core count as the prose names it, from its metadata (``os.cpu_count()``)."""
    n = r["meta"]["cpu_count"]
    return f"{n} core" if n == 1 else f"{n} cores"


def ms(x: float) -> str:
    return f"{x:.2f}"


def context(r: dict) -> str:
    m = r["meta"]
    return (
        f"_{m['backend']} · model `{m['model_fingerprint']}` · encoder backend `{m['encoder_backend']}` · "
        f"os.cpu_count() = {m['cpu_count']}_"
    )


def table(head: list[str], rows: list[list[object]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return [*out, ""]


def pct_row(name: str, p: dict) -> list[object]:
    """A table row of a percentile summary (``summarize``); max blank where not recorded."""
    return [name, p["n"], ms(p["p50"]), ms(p["p90"]), ms(p["p99"]), ms(p["max"]) if "max" in p else ""]


def lat_row(name: str, s: dict) -> list[object]:
    return pct_row(name, s["latency_ms"])


def check(target: str, measured: str, value: float, limit: float, at_most: bool = True) -> dict:
    """A row of the targets: PASS when ``value`` is at most (or ``at_most=False``: at least) ``limit``."""
    ok = value <= limit if at_most else value >= limit
    return {
        "target": target,
        "measured": measured,
        "ratio": value / limit,
        "verdict": "PASS" if ok else "MISS",
    }
