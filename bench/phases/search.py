"""Milvus search alone: latency per query and tie-aware recall@k against exact search, per
``ef``; and Milvus' own floor from a fresh process (``probes/search_probe.py``)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence

import numpy as np

from bench.common import OUT_DIR, child_env, descendants, probe_cmd, run_logged, summarize
from bench.phases.queries import Queries
from bench.probes.protocol import HOST, TOP_K
from bench.units import MS_PER_S

EFS = (16, 32, 64, 128, 256)
"""The brief's four, and 256 to find the smallest ef that meets the recall target."""
TIE_TOLERANCE = 1e-6
"""A returned id is correct when its exact score is at least the exact k-th best minus this."""
EXACT_CHUNK_QUERIES = 64
"""Queries scored against all vectors at once (bounds the score matrix to that many rows x the vocabulary)."""
WARMUP_SEARCHES = 50
PROBE_QUERIES = 400
"""Query vectors per Milvus probe (the first of the run's queries)."""


def exact_kth_scores(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """The exact k-th best inner product of each query over all ``vectors``."""
    out = np.empty(len(queries), dtype=np.float64)
    for start in range(0, len(queries), EXACT_CHUNK_QUERIES):
        scores = queries[start : start + EXACT_CHUNK_QUERIES] @ vectors.T
        top = np.partition(scores, -k, axis=1)[:, -k:]
        out[start : start + EXACT_CHUNK_QUERIES] = top.min(axis=1)
    return out


def tie_aware_recall(
    returned_ids: Sequence[Sequence[int]],
    queries: np.ndarray,
    vectors: np.ndarray,
    row_of_id: dict[int, int],
    kth: np.ndarray,
    k: int,
) -> float:
    """Mean fraction of the k slots holding an id whose exact score reaches the k-th best."""
    correct = 0
    for q, ids, bar in zip(queries, returned_ids, kth, strict=True):
        for i in ids[:k]:
            if float(vectors[row_of_id[int(i)]] @ q) >= bar - TIE_TOLERANCE:
                correct += 1
    return correct / (k * len(queries))


def timed_searches(store, queries: np.ndarray, top_k: int) -> tuple[list[float], list[list[int]]]:
    """Latency (ms) and returned ids of ``store.search`` for each query, one at a time."""
    for q in queries[:WARMUP_SEARCHES]:
        store.search(q, top_k)
    latencies, ids = [], []
    for q in queries:
        t0 = time.perf_counter()
        hits = store.search(q, top_k)
        latencies.append((time.perf_counter() - t0) * MS_PER_S)
        ids.append([h.id for h in hits])
    return latencies, ids


def ef_sweep(
    client,
    settings,
    query_sets: dict[str, np.ndarray],
    vectors: np.ndarray,
    ids: np.ndarray,
    efs: Sequence[int],
    top_k: int,
) -> dict:
    """Per ef and query set: search-only latency summary and tie-aware recall@top_k.

    Searches go through ``WordStore.search`` (the service's exact call) with
    ``search_ef`` replaced, on one client from this process.
    """
    from wordsim.store.collection import WordStore

    row_of_id = {int(i): r for r, i in enumerate(ids)}
    kth = {name: exact_kth_scores(vectors, q, top_k) for name, q in query_sets.items()}
    out: dict = {}
    for ef in efs:
        store = WordStore(client, settings.replace(search_ef=ef))
        out[str(ef)] = {}
        for name, q in query_sets.items():
            lat, got = timed_searches(store, q, top_k)
            out[str(ef)][name] = {
                "latency_ms": summarize(lat),
                "recall": tie_aware_recall(got, q, vectors, row_of_id, kth[name], top_k),
                "latencies_ms": lat,
            }
    return out


def search_phase(uri: str, settings, q: Queries) -> dict:
    """Search-only latency and tie-aware recall per ef, on the queries' server-made vectors
    (``encoder_alone`` saved them)."""
    from wordsim.store.connection import connect

    vectors = np.load(OUT_DIR / "vectors.npy")
    ids = np.load(OUT_DIR / "ids.npy")
    qv = np.load(OUT_DIR / "query_vectors.npy")
    sets = {"dict": qv[: len(q.dictionary)], "ood": qv[len(q.dictionary) :]}
    client = connect(settings.replace(milvus_uri=uri))
    try:
        efs = sorted({*EFS, settings.search_ef})
        sweep = ef_sweep(client, settings, sets, vectors, ids, efs, TOP_K)
    finally:
        client.close()
    for per_set in sweep.values():
        for entry in per_set.values():
            entry.pop("latencies_ms")
    return {"configured_ef": settings.search_ef, "by_ef": sweep}


def search_probes(uri: str, milvus_root: int, inner_port: int, settings) -> dict:
    """``probes/search_probe.py`` through the forwarder, and straight to Milvus inside its
    network namespace (``nsenter``; skipped where that is not permitted)."""
    vectors = OUT_DIR / "query_vectors.npy"
    base = ["--vectors", str(vectors), "--ef", str(settings.search_ef), "--collection", settings.collection]
    base += ["--limit", str(PROBE_QUERIES)]
    out: dict = {}
    milvus = [p.pid for p in descendants(milvus_root) if p.name() == "milvus"]
    sweep = ["--milvus-pid", str(milvus[0])] if milvus else []
    run = run_logged(
        probe_cmd("search_probe", *base, *sweep, "--uri", uri), child_env(), "probe_forwarded.log"
    )
    out["forwarded"] = run.result()
    nsenter = shutil.which("nsenter")
    if not milvus or not nsenter:
        out["direct"] = None
        return out
    inner = f"http://{HOST}:{inner_port}"
    cmd = [nsenter, "-t", str(milvus[0]), "-n", *probe_cmd("search_probe", *base, "--uri", inner)]
    out["direct"] = run_logged(cmd, child_env(), "probe_direct.log").result()
    return out
