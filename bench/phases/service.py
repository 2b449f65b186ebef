"""The service measurements: c=1 latency, c=16 throughput with each party's cores, a py-spy
profile, and the soak; plus the sizes and durations of a run (``Plan``)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from bench_common import (
    BENCH_DIR,
    MS_PER_S,
    OUT_DIR,
    RssSampler,
    busy_cpu_s,
    descendants,
    proc_cpu,
    summarize,
)
from phases import Queries, load, our_service
from profile_tools import start_record, summarize_raw, thread_cpu

CONCURRENCY = 16
WARM_REQUESTS = 50
"""Unrecorded requests sent to a freshly started server before its c=1 latency run."""
SERVER_READY_S = 120.0


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


FULL = Plan(None, 1000, 200, 30.0, 3.0, 60.0, 10.0, 3, 8.0, True)
QUICK = Plan(20000, 200, 50, 5.0, 1.0, 12.0, 4.0, 1, 4.0, False)


def cpu_groups(server_pid: int, milvus_root: int) -> dict[str, list[int]]:
    """Process ids by role: our server (with workers), the Milvus binary, its forwarder."""
    milvus = descendants(milvus_root)
    return {
        "server": [p.pid for p in descendants(server_pid)],
        "milvus": [p.pid for p in milvus if p.name() == "milvus"],
        "forwarder": [p.pid for p in milvus if p.name() != "milvus"],
    }


def throughput_with_cpu(svc, queries: list[str], tag: str, plan: Plan, milvus_root: int) -> dict:
    """c=16 for ``plan.tp_s`` s, with the cores each party used meanwhile."""
    groups = cpu_groups(svc.proc.pid, milvus_root)
    before, busy0, t0 = proc_cpu(groups), busy_cpu_s(), time.perf_counter()
    out = load(svc, queries, tag, concurrency=CONCURRENCY, duration=plan.tp_s, warmup=plan.tp_warmup_s)
    wall = time.perf_counter() - t0
    after, busy1 = proc_cpu(groups), busy_cpu_s()
    cores = {k: (after[k] - before[k]) / wall for k in groups}
    cores["load client"] = out["client_cpu_s"] / wall
    cores["other work on the machine"] = max(0.0, (busy1 - busy0) / wall - sum(cores.values()))
    out["cpu_cores"] = cores
    return out


def profile(svc, queries: list[str], plan: Plan) -> dict | None:
    """py-spy on the server while c=16 load runs (None when py-spy is absent)."""
    raw = OUT_DIR / f"profile_{svc.name}.txt"
    before, t0 = thread_cpu(svc.proc.pid), time.perf_counter()
    spy = start_record(svc.proc.pid, plan.profile_s, raw)
    if spy is None:
        return None
    res = load(svc, queries, f"{svc.name}_profiled", concurrency=CONCURRENCY, duration=plan.profile_s)
    spy.wait()
    after, wall = thread_cpu(svc.proc.pid), time.perf_counter() - t0
    extra = {"raw": str(raw.relative_to(BENCH_DIR)), "rps": res["rps"]}
    return summarize_raw(raw, wall, before, after) | extra


def measure_service(
    svc, q: Queries, pool: list[str], plan: Plan, milvus_root: int, *, cached: bool, latency: bool = True
) -> dict:
    """c=1 latency (dictionary, OOD, optionally a cached repeat), then c=16 throughput."""
    res: dict = {"ready_s": svc.wait_ready(SERVER_READY_S), "name": svc.name}
    load(svc, q.pool[-WARM_REQUESTS:], f"{svc.name}_warm")
    if not latency:
        res["throughput"] = throughput_with_cpu(svc, pool, f"{svc.name}_c16", plan, milvus_root)
        return res
    groups = cpu_groups(svc.proc.pid, milvus_root)
    before = proc_cpu(groups)
    res["latency_dict"] = load(svc, q.dictionary, f"{svc.name}_c1_dict")
    after, n = proc_cpu(groups), res["latency_dict"]["requests"]
    res["latency_dict"]["cpu_ms_per_request"] = {k: (after[k] - before[k]) / n * MS_PER_S for k in groups}
    res["latency_ood"] = load(svc, q.ood, f"{svc.name}_c1_ood")
    both = res["latency_dict"]["_latencies_ms"] + res["latency_ood"]["_latencies_ms"]
    res["latency_all"] = {"latency_ms": summarize(both)}
    if cached:
        res["latency_cached"] = load(svc, q.dictionary, f"{svc.name}_c1_cached")
    res["throughput"] = throughput_with_cpu(svc, pool, f"{svc.name}_c16", plan, milvus_root)
    return res


def soak(uri: str, pool: list[str], plan: Plan, milvus_root: int) -> dict:
    """c=16 for ``plan.soak_s`` s against the default configuration, RSS sampled each second."""
    with our_service("soak_w1t2", uri, 1, 2) as svc:
        svc.wait_ready(SERVER_READY_S)
        sampler = RssSampler({"server": svc.proc.pid, "milvus": milvus_root})
        sampler.start()
        res = load(svc, pool, "soak", concurrency=CONCURRENCY, duration=plan.soak_s)
        samples = sampler.stop()
    per_s = np.bincount(np.asarray(res["_done_at_s"], dtype=np.int64))[1:-1]  # whole seconds only
    res["rps_per_second"] = {
        "min": int(per_s.min()),
        "median": float(np.median(per_s)),
        "max": int(per_s.max()),
    }
    warm = next((s for s in samples if s["t"] >= plan.soak_warmup_s), samples[-1])
    res["rss_mib"] = {
        who: {"after_warmup": warm[who], "end": samples[-1][who], "change": samples[-1][who] / warm[who] - 1}
        for who in ("server", "milvus")
    }
    res["rss_samples"] = samples
    return res
