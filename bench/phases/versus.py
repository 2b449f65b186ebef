"""This checkout's server against an earlier commit's (``BASELINE_COMMIT``), in the same run:
server CPU per request at c=1 and throughput at c=16, interleaved rounds, medians; flame
graphs of both at c=1 and c=16 (py-spy, when installed) into bench/profiles/.

Both servers run with WORKERS=1, EXECUTOR_THREADS=2, on the same Milvus and collection, and
with the answer cache off, so that every request encodes and searches whatever the query.
A fresh server per round and variant; the order alternates between rounds, so that neither
variant always runs first on a machine whose load drifts.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from bench.common import BENCH_DIR, PROJECT_DIR, Service, cpu_s, tree_sum
from bench.phases.plan import CONCURRENCY, SERVER_READY_S, WARM_REQUESTS, Plan
from bench.phases.profile import flame_graph
from bench.phases.servers import BASELINE_COMMIT, baseline_service, baseline_tree, load, our_service
from bench.units import MS_PER_S
from wordsim.settings import load_settings

PROFILES_DIR = BENCH_DIR / "profiles"
"""The flame graphs of the last full run (committed with RESULTS.md)."""
VARIANTS = ("baseline", "ours", "baseline_same_ef")
"""``baseline_same_ef``: the baseline commit searching with this checkout's ``ef``, so that the
service's own path is compared apart from the index choice (the baseline's default ef is 256)."""
NO_CACHE = {"WORDSIM_ANSWER_CACHE_SIZE": "0"}
KEYS = ("cpu_ms_per_request", "p50_ms", "c16_rps")


def server_for(variant: str, name: str, uri: str, tree: Path, ef: int) -> Service:
    """The server of ``variant``; ``ef``: ours, given to ``baseline_same_ef``."""
    if variant == "ours":
        return our_service(name, uri, 1, **NO_CACHE)
    if variant == "baseline_same_ef":
        return baseline_service(name, uri, 1, tree, **NO_CACHE, WORDSIM_SEARCH_EF=str(ef))
    return baseline_service(name, uri, 1, tree, **NO_CACHE)


FIRST_START_S = 600.0
"""How long the baseline's first start may take: it exports its ONNX model then."""


def measure(svc: Service, c1: list[str], c16: list[str], warm: list[str], c16_s: float) -> dict:
    """c=1 over ``c1``: the server process's CPU ms per request (psutil) and p50; then c=16
    for ``c16_s`` seconds over ``c16``: req/s."""
    svc.wait_ready(FIRST_START_S if svc.cwd != PROJECT_DIR else SERVER_READY_S)
    load(svc, warm, f"{svc.name}_warm")
    cpu0 = tree_sum(svc.proc.pid, cpu_s)
    one = load(svc, c1, f"{svc.name}_c1")
    cpu1 = tree_sum(svc.proc.pid, cpu_s)
    many = load(svc, c16, f"{svc.name}_c16", concurrency=CONCURRENCY, duration=c16_s)
    return {
        "cpu_ms_per_request": (cpu1 - cpu0) / one["requests"] * MS_PER_S,
        "p50_ms": one["latency_ms"]["p50"],
        "c16_rps": many["rps"],
        "errors": one["errors"] + many["errors"],
    }


def flame_graphs(svc: Service, queries: list[str], variant: str, seconds: float, where: Path) -> dict:
    """SVG flame graphs of ``svc`` at c=1 and c=16 (paths relative to bench/), if py-spy is here."""
    out = {}
    for conc in (1, CONCURRENCY):
        path = flame_graph(svc, queries, where / f"{variant}_c{conc}.svg", conc, seconds)
        if path is not None:
            out[f"c{conc}"] = (
                str(path.relative_to(BENCH_DIR)) if path.is_relative_to(BENCH_DIR) else str(path)
            )
    return out


def versus_baseline(
    uri: str,
    queries: list[str],
    plan: Plan,
    *,
    profile: bool,
    where: Path = PROFILES_DIR,
    tree: Path | None = None,
) -> dict:
    """``plan.versus_rounds`` interleaved rounds of both variants; medians and ratios."""
    tree = tree or baseline_tree()
    ef = load_settings().search_ef
    n1 = plan.n_dict
    runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    graphs: dict[str, dict] = {}
    for r in range(plan.versus_rounds):
        for variant in VARIANTS if r % 2 == 0 else VARIANTS[::-1]:
            with server_for(variant, f"versus_{variant}_{r}", uri, tree, ef) as svc:
                res = measure(svc, queries[:n1], queries[n1:], queries[-WARM_REQUESTS:], plan.tp_s)
                runs[variant].append(res)
                if profile and r == plan.versus_rounds - 1 and variant in ("baseline", "ours"):
                    graphs[variant] = flame_graphs(svc, queries[n1:], variant, plan.profile_s, where)
    medians = {v: {k: statistics.median(x[k] for x in rs) for k in KEYS} for v, rs in runs.items()}
    base, ours, same_ef = medians["baseline"], medians["ours"], medians["baseline_same_ef"]
    return {
        "commit": BASELINE_COMMIT,
        "search_ef": ef,
        "rounds": runs,
        "medians": medians,
        "cpu_ratio": ours["cpu_ms_per_request"] / base["cpu_ms_per_request"],
        "c16_ratio": ours["c16_rps"] / base["c16_rps"],
        "c16_ratio_same_ef": ours["c16_rps"] / same_ef["c16_rps"],
        "flame_graphs": graphs,
    }
