"""The service measurements: c=1 latency with the CPU per request, c=16 throughput with each
party's cores, cold start, and the soak."""

from __future__ import annotations

import time

import numpy as np

from bench.common import RssSampler, Service, busy_cpu_s, descendants, proc_cpu, summarize
from bench.phases.plan import CONCURRENCY, DEFAULT, OURS, SERVER_READY_S, WARM_REQUESTS, Plan
from bench.phases.queries import Queries
from bench.phases.servers import load, our_service
from bench.units import MS_PER_S


def cpu_groups(server_pid: int, milvus_root: int | None) -> dict[str, list[int]]:
    """Process ids by role: our server (with workers), the Milvus binary, its forwarder
    (without ``milvus_root``, a Milvus not ours to watch: the server only)."""
    milvus = descendants(milvus_root) if milvus_root else []
    return {
        "server": [p.pid for p in descendants(server_pid)],
        "milvus": [p.pid for p in milvus if p.name() == "milvus"],
        "forwarder": [p.pid for p in milvus if p.name() != "milvus"],
    }


def load_with_cpu(svc: Service, queries: list[str], tag: str, milvus_root: int | None, **how) -> dict:
    """A load run (``how``: ``servers.load``'s options), with each party's CPU ms per request."""
    groups = cpu_groups(svc.proc.pid, milvus_root)
    before = proc_cpu(groups)
    out = load(svc, queries, tag, **how)
    after, n = proc_cpu(groups), max(out["requests"], 1)
    out["cpu_ms_per_request"] = {k: (after[k] - before[k]) / n * MS_PER_S for k in groups}
    return out


def throughput_with_cpu(svc: Service, queries: list[str], tag: str, plan: Plan, milvus_root: int) -> dict:
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


def measure_service(
    svc: Service, q: Queries, pool: list[str], plan: Plan, milvus_root: int, *, cached: bool
) -> dict:
    """c=1 latency (dictionary, OOD, optionally a cached repeat), then c=16 throughput."""
    res: dict = {"ready_s": svc.wait_ready(SERVER_READY_S), "name": svc.name}
    load(svc, q.pool[-WARM_REQUESTS:], f"{svc.name}_warm")
    res["latency_dict"] = load_with_cpu(svc, q.dictionary, f"{svc.name}_c1_dict", milvus_root)
    res["latency_ood"] = load(svc, q.ood, f"{svc.name}_c1_ood")
    both = res["latency_dict"]["_latencies_ms"] + res["latency_ood"]["_latencies_ms"]
    res["latency_all"] = {"latency_ms": summarize(both)}
    if cached:
        res["latency_cached"] = load(svc, q.dictionary, f"{svc.name}_c1_cached")
    res["throughput"] = throughput_with_cpu(svc, pool, f"{svc.name}_c16", plan, milvus_root)
    return res


def cold_start(uri: str, runs: int) -> dict:
    """Spawn of ``sanic_milvus.py`` (default configuration) to its first 200 on /health, ``runs`` times."""
    times = []
    for i in range(runs):
        with our_service(f"cold_start_{i}", uri, OURS[DEFAULT]) as svc:
            times.append(svc.wait_ready(SERVER_READY_S))
    return {"runs_s": times, "median_s": float(np.median(times))}


def soak(uri: str, pool: list[str], plan: Plan, milvus_root: int) -> dict:
    """c=16 for ``plan.soak_s`` s against the default configuration, RSS sampled each second."""
    with our_service(f"{DEFAULT}_soak", uri, OURS[DEFAULT]) as svc:
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
