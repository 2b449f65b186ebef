"""The measurements of the benchmark, one function each; ``run_bench.py`` sequences them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from bench_common import (
    BENCH_DIR,
    OUT_DIR,
    PROJECT_DIR,
    PYTHON,
    OtherLoad,
    Service,
    child_env,
    free_port,
    run_logged,
    summarize,
)

SERVER_READY_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Queries:
    """The fixed-seed query sets of a run."""

    dictionary: list[str]
    ood: list[str]
    pool: list[str]
    """Further distinct dictionary words for the timed (c=16) runs."""


def pick_queries(
    texts: list[str], vocab: set[str], n_dict: int, n_ood: int, seed: int, max_chars: int
) -> Queries:
    """Random words of ``texts`` (the ingested ones), and two-word phrases of them that are
    not in ``vocab`` (the whole dictionary)."""
    from api_input import normalize_text

    usable = sorted({t for t in texts if normalize_text(t) == t and 0 < len(t) <= max_chars})
    rng = np.random.default_rng(seed)
    order = [usable[i] for i in rng.permutation(len(usable))]
    dictionary, pool = order[:n_dict], order[n_dict:]
    ood: list[str] = []
    seen: set[str] = set()
    while len(ood) < n_ood:
        a, b = (usable[i] for i in rng.integers(0, len(usable), size=2))
        phrase = a + b
        if phrase not in vocab and phrase not in seen and len(phrase) <= max_chars:
            seen.add(phrase)
            ood.append(phrase)
    return Queries(dictionary, ood, pool)


def encode_only(limit: int | None, query_file: Path, milvus_root: int) -> dict:
    """The encoder alone on the same words (subprocess); saves the vectors."""
    other = OtherLoad(milvus_root)
    cmd = [PYTHON, str(BENCH_DIR / "encode_only.py"), "--queries", str(query_file), "--out-dir", str(OUT_DIR)]
    cmd += ["--limit", str(limit)] if limit else []
    run = run_logged(cmd, child_env(), "encode_only.log")
    if run.code != 0:
        raise RuntimeError(f"encoder run failed with exit code {run.code}; see {OUT_DIR / 'encode_only.log'}")
    result = json.loads(run.output.strip().splitlines()[-1])
    result.update(process_wall_s=run.wall_s, peak_rss_bytes=run.peak_rss_bytes, process_cpu_s=run.cpu_s)
    result["other_load_cores"] = other.cores(run.cpu_s)
    return result


def our_service(name: str, uri: str, workers: int, threads: int, **extra: str) -> Service:
    port = free_port()
    env = child_env(
        WORDSIM_MILVUS_URI=uri,
        WORDSIM_HOST="127.0.0.1",
        WORDSIM_PORT=str(port),
        WORDSIM_WORKERS=str(workers),
        WORDSIM_EXECUTOR_THREADS=str(threads),
        **extra,
    )
    return Service(name, [PYTHON, str(PROJECT_DIR / "sanic_milvus.py")], env, port)


def original_service(name: str, uri: str, torch_threads: int) -> Service:
    port = free_port()
    cmd = [PYTHON, str(BENCH_DIR / "baseline_original.py"), "--port", str(port), "--milvus-uri", uri]
    cmd += ["--torch-threads", str(torch_threads)]
    return Service(name, cmd, child_env(), port)


def noop_service() -> Service:
    port = free_port()
    return Service("noop", [PYTHON, str(BENCH_DIR / "noop_app.py"), "--port", str(port)], child_env(), port)


def http_floor(queries: list[str], warm: list[str]) -> dict:
    """c=1 latency of a bare Sanic app with a fixed answer (same client, same queries)."""
    with noop_service() as svc:
        svc.wait_ready(SERVER_READY_TIMEOUT_S)
        load(svc, warm, "noop_warm")
        res = load(svc, queries, "noop_c1")
    res.pop("_latencies_ms")
    res.pop("_done_at_s")
    return res


def load(
    service: Service,
    queries: list[str],
    tag: str,
    *,
    concurrency: int = 1,
    duration: float | None = None,
    warmup: float = 0.0,
) -> dict:
    """Run the load client (a separate process) against ``service``; summary + raw file."""
    qfile, rfile = OUT_DIR / f"queries_{tag}.json", OUT_DIR / f"load_{tag}.json"
    qfile.write_text(json.dumps(queries, ensure_ascii=False), encoding="utf-8")
    cmd = [PYTHON, str(BENCH_DIR / "load_client.py"), "--port", str(service.port), "--queries", str(qfile)]
    cmd += ["--concurrency", str(concurrency), "--warmup", str(warmup), "--out", str(rfile)]
    cmd += ["--duration", str(duration)] if duration else []
    run = run_logged(cmd, child_env(), f"load_{tag}.log")
    if run.code != 0:
        raise RuntimeError(f"load client failed ({run.code}): {run.output[-2000:]}")
    raw = json.loads(rfile.read_text())
    keep = ("concurrency", "duration_s", "requests", "errors", "error_samples", "distinct_queries", "wrapped")
    out = {k: raw[k] for k in keep}
    out["rps"] = raw["rps"]
    out["client_cpu_s"] = run.cpu_s
    out["latency_ms"] = summarize(raw["latencies_ms"])
    out["raw"] = str(rfile.relative_to(BENCH_DIR))
    out["_latencies_ms"] = raw["latencies_ms"]  # dropped before results.json is written
    out["_done_at_s"] = raw["done_at_s"]
    return out


def cold_start(uri: str, runs: int, workers: int, threads: int) -> dict:
    """Spawn of ``sanic_milvus.py`` to its first 200 on /health, ``runs`` times."""
    times = []
    for i in range(runs):
        with our_service(f"cold_start_{i}", uri, workers, threads) as svc:
            times.append(svc.wait_ready(SERVER_READY_TIMEOUT_S))
    return {"runs_s": times, "median_s": float(np.median(times))}
