"""Latency of a trivial Milvus RPC and of the service's search (with and without the
``text`` output field), from a fresh process, with the client's own CPU per call.

    python -m bench.probes.search_probe --uri http://127.0.0.1:19530 --collection words \
        --vectors q.npy --ef 64

Run twice by the bench with the same code: through the LocalMilvus forwarder, and (when
``nsenter`` may enter the server's network namespace) straight to Milvus' own port, so
the forwarder's share of a search is measured rather than guessed. With ``--milvus-pid``
(the first run), also Milvus' own CPU per query for searches of nq = 1 … 32 queries at two
values of ef, every combination once per round, rounds interleaved: what batching the
waiting queries into one search saves. Prints one JSON line.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psutil

from bench.common import cpu_s, summarize
from bench.probes.protocol import TOP_K, emit, parser
from bench.units import MS_PER_S

WARMUP = 30
OUTPUT_FIELDS = ["text"]
BATCH = 16
"""Queries per call in the batched probe: what one search for 16 waiting requests would cost."""
SWEEP_NQ = (1, 2, 4, 8, 16, 32)
SWEEP_EFS = (256, 512)
SWEEP_QUERIES = 384
"""Queries per combination and round (a multiple of every nq)."""
SWEEP_ROUNDS = 2


def timed(fn, items) -> dict[str, float]:
    """Wall latency summary of ``fn`` per item (ms), and this process's CPU per call."""
    for x in items[:WARMUP]:
        fn(x)
    lat = []
    cpu0 = time.process_time()
    for x in items:
        t0 = time.perf_counter()
        fn(x)
        lat.append((time.perf_counter() - t0) * MS_PER_S)
    cpu_ms = (time.process_time() - cpu0) * MS_PER_S / len(items)
    return summarize(lat) | {"client_cpu_ms": cpu_ms}


def nq_sweep(client, args, vectors: np.ndarray, milvus) -> list[dict]:
    """Per (ef, nq): Milvus' CPU ms per query and the p50 ms of one call, medians of the rounds."""
    queries = np.resize(vectors, (SWEEP_QUERIES, vectors.shape[1]))
    runs: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for r in range(SWEEP_ROUNDS):
        combos = [(ef, nq) for ef in SWEEP_EFS for nq in SWEEP_NQ]
        for ef, nq in combos if r % 2 == 0 else combos[::-1]:
            params = {"metric_type": "IP", "params": {"ef": max(ef, args.top_k)}}
            lat = []
            cpu0 = cpu_s(milvus)
            for i in range(0, SWEEP_QUERIES, nq):
                t0 = time.perf_counter()
                client.search(
                    args.collection, data=queries[i : i + nq].tolist(), limit=args.top_k,
                    output_fields=OUTPUT_FIELDS, search_params=params,
                )  # fmt: skip
                lat.append((time.perf_counter() - t0) * MS_PER_S)
            cpu_ms = (cpu_s(milvus) - cpu0) * MS_PER_S / SWEEP_QUERIES
            runs.setdefault((ef, nq), []).append((cpu_ms, statistics.median(lat)))
    return [
        {
            "ef": ef,
            "nq": nq,
            "milvus_cpu_ms_per_query": statistics.median(c for c, _ in rs),
            "call_p50_ms": statistics.median(p for _, p in rs),
        }
        for (ef, nq), rs in sorted(runs.items())
    ]


def main(argv: list[str] | None = None) -> int:
    from pymilvus import MilvusClient

    p = parser(__doc__)
    p.add_argument("--uri", required=True)
    p.add_argument("--collection", required=True)
    p.add_argument("--vectors", type=Path, required=True)
    p.add_argument("--ef", type=int, required=True)
    p.add_argument("--top-k", type=int, default=TOP_K)
    p.add_argument("--limit", type=int, help="only the first N vectors")
    p.add_argument("--milvus-pid", type=int, help="the milvus process: measure its CPU per query by nq")
    args = p.parse_args(argv)
    vectors = np.load(args.vectors)[: args.limit]
    client = MilvusClient(uri=args.uri)
    params = {"metric_type": "IP", "params": {"ef": max(args.ef, args.top_k)}}

    def search(v: np.ndarray, fields: list[str] | None = OUTPUT_FIELDS) -> None:
        data = v.tolist() if v.ndim == 2 else [v.tolist()]
        client.search(
            args.collection, data=data, limit=args.top_k, output_fields=fields, search_params=params
        )

    calls = list(range(len(vectors)))
    batches = [vectors[i : i + BATCH] for i in range(0, len(vectors) - BATCH + 1, BATCH)]
    result = {
        "has_collection_ms": timed(lambda _: client.has_collection(args.collection), calls),
        "search_ms": timed(search, vectors),
        "search_no_output_fields_ms": timed(lambda v: search(v, None), vectors),
        f"search_batch{BATCH}_ms": timed(search, batches),
    }
    if args.milvus_pid:
        result["nq_sweep"] = nq_sweep(client, args, vectors, psutil.Process(args.milvus_pid))
    client.close()
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
