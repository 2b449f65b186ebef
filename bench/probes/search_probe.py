"""The index probe: per search parameter value, the latency of one query per call and the
tie-aware recall@k against exact search; per value and queries per call (nq), Milvus' own CPU
per query; optionally after building a given index type first, with its build cost.

    python -m bench.probes.search_probe --uri http://127.0.0.1:19530 --collection words \
        --vectors-dir bench/out --n-dict 1000 --values 16,32,64,128,256,512 --milvus-pid 1234
    python -m bench.probes.search_probe --uri ... --collection scratch --vectors-dir DIR \
        --index-type IVF_FLAT --index-params '{"nlist": 1024}' --search-key nprobe --values 16,64

``--vectors-dir`` holds what ``probes/encode_only.py`` writes: the collection's vectors
(``vectors.npy``, row i = id ``ids.npy[i]``, for the exact answers) and the queries'
(``query_vectors.npy``: the first ``--n-dict`` are dictionary words, the rest
out-of-dictionary phrases). Searches ask for the ``text`` output field, as the service
does. With ``--index-type`` the collection's vector index is dropped and rebuilt (use a
collection of your own). Milvus' CPU (``--milvus-pid``: its process or its launcher) is
read over each nq run, rounds interleaved: what batching waiting queries into one search
saves, and what caps throughput. Prints one JSON line.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.common import summarize, tree_cpu_s
from bench.probes.protocol import TOP_K, emit, parser
from bench.units import MS_PER_S

WARMUP = 30
OUTPUT_FIELDS = ["text"]
TIE_TOLERANCE = 1e-6
"""A returned id is correct when its exact score is at least the exact k-th best minus this."""
EXACT_CHUNK_QUERIES = 64
"""Queries scored against all vectors at once (bounds the score matrix to that many rows x the rows)."""
SWEEP_NQ = "1,2,4,8,16,32"
SWEEP_QUERIES = 384
"""Queries per (value, nq) and round (a multiple of every nq)."""
SWEEP_ROUNDS = 2
POLL_S = 0.5


def exact_kth_scores(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    """The exact k-th best inner product of each query over all ``vectors``."""
    out = np.empty(len(queries), dtype=np.float64)
    for start in range(0, len(queries), EXACT_CHUNK_QUERIES):
        scores = queries[start : start + EXACT_CHUNK_QUERIES] @ vectors.T
        out[start : start + EXACT_CHUNK_QUERIES] = np.partition(scores, -k, axis=1)[:, -k:].min(axis=1)
    return out


def tie_aware_recall(
    returned: Sequence[Sequence[int]], queries: np.ndarray, vectors: np.ndarray, row_of_id: dict, kth, k: int
) -> float:
    """Mean fraction of the k slots holding an id whose exact score reaches the k-th best."""
    correct = 0
    for q, ids, bar in zip(queries, returned, kth, strict=True):
        correct += sum(float(vectors[row_of_id[int(i)]] @ q) >= bar - TIE_TOLERANCE for i in ids[:k])
    return correct / (k * len(queries))


def rebuild_index(
    client, collection: str, index_type: str, params: dict, milvus: int | None, timeout_s: float
):
    """Drop the vector index, build ``index_type`` with ``params``, load: wall and Milvus CPU s."""
    rows = int(client.get_collection_stats(collection).get("row_count", 0))
    client.release_collection(collection)
    for name in client.list_indexes(collection):
        client.drop_index(collection, name)
    index = client.prepare_index_params()
    index.add_index(field_name="vector", index_type=index_type, metric_type="IP", params=params)
    cpu0, t0 = tree_cpu_s(milvus) if milvus else 0.0, time.perf_counter()
    client.create_index(collection, index, sync=False)
    while True:
        info = client.describe_index(collection, "vector")
        if str(info.get("state")) == "Failed":
            raise RuntimeError(f"{index_type} {params}: {info.get('index_state_fail_reason')}")
        if str(info.get("state")) == "Finished" and int(info.get("indexed_rows", 0)) >= rows:
            break
        if time.perf_counter() - t0 > timeout_s:
            raise RuntimeError(f"{index_type} {params}: not built within {timeout_s:.0f} s ({info})")
        time.sleep(POLL_S)
    build = {"rows": rows, "wall_s": time.perf_counter() - t0}
    build["milvus_cpu_s"] = tree_cpu_s(milvus) - cpu0 if milvus else None
    t0 = time.perf_counter()
    client.load_collection(collection, timeout=timeout_s)
    return build | {"load_s": time.perf_counter() - t0}


def main(argv: list[str] | None = None) -> int:
    from wordsim.settings import load_settings
    from wordsim.store.connection import connect

    p = parser(__doc__)
    p.add_argument("--uri", required=True)
    p.add_argument("--collection", required=True)
    p.add_argument("--vectors-dir", type=Path, required=True)
    p.add_argument("--n-dict", type=int, required=True, help="the first N query vectors are dictionary words")
    p.add_argument("--search-key", default="ef", help="the index's search parameter (ef, nprobe, ...)")
    p.add_argument("--values", required=True, help="its values, comma-separated")
    p.add_argument("--nq-values", help="values of the nq sweep (default: the last two)")
    p.add_argument("--nq", default=SWEEP_NQ, help="queries per call in the nq sweep")
    p.add_argument("--top-k", type=int, default=TOP_K)
    p.add_argument("--milvus-pid", type=int, help="the milvus process: its CPU per query by nq")
    p.add_argument(
        "--index-type", help="drop the vector index and build this one first (HNSW, IVF_FLAT, ...)"
    )
    p.add_argument(
        "--index-params", type=json.loads, default={}, help='its build parameters, JSON: {"M": 16}'
    )
    p.add_argument("--timeout", type=float, default=3600.0, help="seconds the build and the load may take")
    args = p.parse_args(argv)
    values = [int(v) for v in args.values.split(",")]
    nq_values = [int(v) for v in args.nq_values.split(",")] if args.nq_values else values[-2:]
    vectors, ids = np.load(args.vectors_dir / "vectors.npy"), np.load(args.vectors_dir / "ids.npy")
    qv = np.load(args.vectors_dir / "query_vectors.npy")
    sets = {"dict": qv[: args.n_dict], "ood": qv[args.n_dict :]}
    client = connect(load_settings().replace(milvus_uri=args.uri, milvus_timeout_s=args.timeout))
    result: dict = {"search_key": args.search_key, "top_k": args.top_k}
    if args.index_type:
        result["index"] = {"index_type": args.index_type, "params": args.index_params}
        result["build"] = rebuild_index(
            client, args.collection, args.index_type, args.index_params, args.milvus_pid, args.timeout
        )
    else:  # a no-op when loaded; Milvus Lite forgets the load when its process ends
        client.load_collection(args.collection, timeout=args.timeout)

    def search(batch: np.ndarray, value: int) -> list:
        # HNSW refuses an ef below the results asked for.
        value = max(value, args.top_k) if args.search_key == "ef" else value
        params = {"metric_type": "IP", "params": {args.search_key: value}}
        return client.search(
            args.collection,
            data=batch.tolist(),
            limit=args.top_k,
            output_fields=OUTPUT_FIELDS,
            search_params=params,
        )

    row_of_id = {int(i): r for r, i in enumerate(ids)}
    kth = {name: exact_kth_scores(vectors, q, args.top_k) for name, q in sets.items()}
    result["by_value"] = {}
    for value in values:
        per = result["by_value"][str(value)] = {}
        for name, q in sets.items():
            for row in q[:WARMUP]:
                search(row[None], value)
            lat, got = [], []
            for row in q:
                t0 = time.perf_counter()
                hits = search(row[None], value)[0]
                lat.append((time.perf_counter() - t0) * MS_PER_S)
                got.append([int(h["id"]) for h in hits])
            recall = tie_aware_recall(got, q, vectors, row_of_id, kth[name], args.top_k)
            per[name] = {"latency_ms": summarize(lat), "recall": recall}
    if args.milvus_pid:
        result["nq_sweep"] = nq_sweep(
            search, qv, nq_values, [int(n) for n in args.nq.split(",")], args.milvus_pid
        )
    client.close()
    emit(result)
    return 0


def nq_sweep(search, vectors: np.ndarray, values: list[int], nqs: list[int], milvus: int) -> list[dict]:
    """Per (value, nq): Milvus' CPU ms per query and the p50 ms of one call, medians of the
    rounds; every combination once per round, the order reversed every other round."""
    queries = np.resize(vectors, (SWEEP_QUERIES, vectors.shape[1]))
    runs: dict[tuple[int, int], list[tuple[float, float]]] = {}
    combos = [(v, nq) for v in values for nq in nqs]
    for r in range(SWEEP_ROUNDS):
        for value, nq in combos if r % 2 == 0 else combos[::-1]:
            lat, cpu0 = [], tree_cpu_s(milvus)
            for i in range(0, SWEEP_QUERIES, nq):
                t0 = time.perf_counter()
                search(queries[i : i + nq], value)
                lat.append((time.perf_counter() - t0) * MS_PER_S)
            cpu_ms = (tree_cpu_s(milvus) - cpu0) * MS_PER_S / SWEEP_QUERIES
            runs.setdefault((value, nq), []).append((cpu_ms, statistics.median(lat)))
    return [
        {
            "value": value,
            "nq": nq,
            "milvus_cpu_ms_per_query": statistics.median(c for c, _ in rs),
            "call_p50_ms": statistics.median(p for _, p in rs),
        }
        for (value, nq), rs in sorted(runs.items())
    ]


if __name__ == "__main__":
    sys.exit(main())
