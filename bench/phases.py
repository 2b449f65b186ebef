"""The measurements of the benchmark, one function each; ``run_bench.py`` sequences them."""

from __future__ import annotations

import json
import re
import shutil
import time
import warnings
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
    descendants,
    free_port,
    run_logged,
    summarize,
    tree_cpu_s,
)

INDEX_POLL_S = 0.5
INDEX_TIMEOUT_S = 900.0
SERVE_TIMEOUT_S = 300.0
SETTLE_TIMEOUT_S = 600.0
PROBE_QUERIES = 400
"""Query vectors per Milvus probe (of the 1,200): enough for a stable p50."""
IDLE_WINDOW_S = 10.0
IDLE_CORES = 0.25
"""Milvus counts as idle below this many cores (idle housekeeping measured at 0.05-0.15)."""
LOAD_REFUSAL = "get memory failed when checkSegmentSize"
"""Milvus' log line when its query node cannot read its own memory use and so refuses a segment."""
SERVER_READY_TIMEOUT_S = 120.0
_OK_LINE = re.compile(r"collection (\S+): (\d+) rows, source: (\d+) words -> (\w+)")
_WROTE_LINE = re.compile(
    r"wrote (\d+) words in ([\d.]+) s: encode ([\d.]+) s \((\d+) words/s\), "
    r"insert ([\d.]+) s \((\d+) rows/s\)"
)


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


def ingest(uri: str, limit: int | None, collection: str, milvus_log: Path, milvus_root: int) -> dict:
    """Run the ingest CLI, then wait until the collection is fully indexed and loaded:
    no rows pending for the index, load state Loaded, and the query node serving every
    row from indexed sealed segments (unless Milvus' log shows it cannot load them)."""
    from pymilvus import MilvusClient

    cmd = [PYTHON, str(PROJECT_DIR / "insert_data_to_milvus.py"), "--drop", "--no-progress"]
    cmd += ["--limit", str(limit)] if limit else []
    t0, other = time.perf_counter(), OtherLoad(milvus_root)
    milvus_cpu0 = tree_cpu_s(milvus_root)
    run = run_logged(cmd, child_env(WORDSIM_MILVUS_URI=uri), "ingest.log")
    if run.code != 0:
        raise RuntimeError(f"ingest failed with exit code {run.code}; see {OUT_DIR / 'ingest.log'}")
    ok = _OK_LINE.search(run.output)
    wrote = _WROTE_LINE.search(run.output)
    if not ok or not wrote or ok.group(4) != "OK":
        raise RuntimeError(f"ingest output not understood; see {OUT_DIR / 'ingest.log'}")
    rows = int(ok.group(2))
    client = MilvusClient(uri=uri)
    try:
        index = _wait_indexed(client, collection, rows, t0)
        indexed_s = time.perf_counter() - t0
        while "Loaded" not in str(client.get_load_state(collection).get("state")):
            time.sleep(INDEX_POLL_S)
        health = _wait_index_served(uri, collection, rows, milvus_log)
        total_s = time.perf_counter() - t0
        settle = settle_compaction(client, uri, collection, rows, milvus_log, milvus_root)
    finally:
        client.close()
    return {
        "settle": settle,
        "other_load_cores": other.cores(run.cpu_s),
        "milvus_cpu_s": tree_cpu_s(milvus_root) - milvus_cpu0,
        "index_served": health,
        "rows": rows,
        "process_wall_s": run.wall_s,
        "process_cpu_s": run.cpu_s,
        "indexed_s": indexed_s,
        "total_s": total_s,
        "index_wait_s": total_s - run.wall_s,
        "encode_s": float(wrote.group(3)),
        "encode_words_per_s": int(wrote.group(4)),
        "insert_s": float(wrote.group(5)),
        "insert_rows_per_s": int(wrote.group(6)),
        "write_wall_s": float(wrote.group(2)),
        "peak_rss_bytes": run.peak_rss_bytes,
        "index": {k: index.get(k) for k in ("index_type", "M", "efConstruction", "metric_type")},
    }


def index_served(uri: str, collection: str, milvus_log: Path) -> dict:
    """How many rows the query node serves from loaded sealed segments with the index, and
    how often Milvus refused to load a segment for want of memory figures."""
    from pymilvus import connections, utility

    alias = "bench-index-health"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ORM API is deprecated, and the only one with this call
        connections.connect(alias=alias, uri=uri)
        try:
            segments = utility.get_query_segment_info(collection, using=alias)
        finally:
            connections.disconnect(alias)
    text = milvus_log.read_text(errors="replace") if milvus_log.is_file() else ""
    return {
        "sealed_segments_loaded": len(segments),
        "rows_in_loaded_indexed_segments": sum(s.num_rows for s in segments if s.index_name),
        "load_refusals": text.count(LOAD_REFUSAL),
    }


def _wait_index_served(uri: str, collection: str, rows: int, milvus_log: Path) -> dict:
    """Wait until every row is served from an indexed sealed segment; give up at once
    when Milvus logs that it refuses to load segments (it will not recover)."""
    t0 = time.perf_counter()
    while True:
        health = index_served(uri, collection, milvus_log)
        health["wait_s"] = time.perf_counter() - t0
        served = health["rows_in_loaded_indexed_segments"] >= rows
        if served or health["load_refusals"] or health["wait_s"] > SERVE_TIMEOUT_S:
            return health | {"all_rows_served_by_index": served}
        time.sleep(INDEX_POLL_S)


def settle_compaction(
    client, uri: str, collection: str, rows: int, milvus_log: Path, milvus_root: int
) -> dict:
    """Merge the ingest's small segments now (``compact``) and wait until the merged segment is
    indexed and served and Milvus is idle. Milvus would otherwise do this on its own a few
    minutes later, rebuilding an HNSW index on one core in the middle of the measurements."""
    t0, cpu0 = time.perf_counter(), tree_cpu_s(milvus_root)
    job = client.compact(collection)
    state = ""
    while "complete" not in state and time.perf_counter() - t0 < SETTLE_TIMEOUT_S:
        time.sleep(INDEX_POLL_S)
        state = str(client.get_compaction_state(job)).lower()
    compacted_s = time.perf_counter() - t0
    index = _wait_indexed(client, collection, rows, t0)
    served = _wait_index_served(uri, collection, rows, milvus_log)
    idle = wait_milvus_idle(milvus_root, SETTLE_TIMEOUT_S - (time.perf_counter() - t0))
    return {
        "compaction_state": state,
        "compacted_s": compacted_s,
        "wait_s": time.perf_counter() - t0,
        "milvus_cpu_s": tree_cpu_s(milvus_root) - cpu0,
        "idle": idle,
        "index_after": {k: v for k, v in index.items() if "rows" in k},
        "served_after": served,
    }


def wait_milvus_idle(milvus_root: int, timeout_s: float) -> bool:
    """Whether Milvus' processes dropped under ``IDLE_CORES`` over ``IDLE_WINDOW_S`` in time."""
    deadline = time.perf_counter() + max(timeout_s, IDLE_WINDOW_S)
    while time.perf_counter() < deadline:
        before = tree_cpu_s(milvus_root)
        time.sleep(IDLE_WINDOW_S)
        if (tree_cpu_s(milvus_root) - before) / IDLE_WINDOW_S < IDLE_CORES:
            return True
    return False


def _wait_indexed(client, collection: str, rows: int, t0: float) -> dict:
    """Poll ``describe_index`` until no rows wait for the index and all are indexed."""
    while True:
        info = client.describe_index(collection, "vector")
        if info["pending_index_rows"] == 0 and info["indexed_rows"] >= rows:
            return info
        if time.perf_counter() - t0 > INDEX_TIMEOUT_S:
            raise RuntimeError(f"index not built within {INDEX_TIMEOUT_S:.0f} s: {info}")
        time.sleep(INDEX_POLL_S)


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


def search_probes(uri: str, milvus_root: int, inner_port: int, ef: int) -> dict:
    """``search_probe.py`` through the forwarder, and straight to Milvus inside its
    network namespace (``nsenter``; skipped where that is not permitted)."""
    vectors = OUT_DIR / "query_vectors.npy"
    base = [str(BENCH_DIR / "search_probe.py"), "--vectors", str(vectors), "--ef", str(ef)]
    base += ["--limit", str(PROBE_QUERIES)]
    out: dict = {}
    run = run_logged([PYTHON, *base, "--uri", uri], child_env(), "probe_forwarded.log")
    out["forwarded"] = json.loads(run.output.strip().splitlines()[-1]) if run.code == 0 else None
    milvus = [p.pid for p in descendants(milvus_root) if p.name() == "milvus"]
    nsenter = shutil.which("nsenter")
    if not milvus or not nsenter:
        out["direct"] = None
        return out
    cmd = [nsenter, "-t", str(milvus[0]), "-n", PYTHON, *base, "--uri", f"http://127.0.0.1:{inner_port}"]
    run = run_logged(cmd, child_env(), "probe_direct.log")
    out["direct"] = json.loads(run.output.strip().splitlines()[-1]) if run.code == 0 else None
    return out
