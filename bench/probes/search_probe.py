"""Latency of a trivial Milvus RPC and of the service's search (with and without the
``text`` output field), from a fresh process, with the client's own CPU per call.

    python -m bench.probes.search_probe --uri http://127.0.0.1:19530 --collection words \
        --vectors q.npy --ef 64

Run twice by the bench with the same code: through the LocalMilvus forwarder, and (when
``nsenter`` may enter the server's network namespace) straight to Milvus' own port, so
the forwarder's share of a search is measured rather than guessed. Prints one JSON line.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from bench.common import summarize
from bench.probes.protocol import TOP_K, emit, parser
from bench.units import MS_PER_S

WARMUP = 30
OUTPUT_FIELDS = ["text"]
BATCH = 16
"""Queries per call in the batched probe: what one search for 16 waiting requests would cost."""


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


def main(argv: list[str] | None = None) -> int:
    from pymilvus import MilvusClient

    p = parser(__doc__)
    p.add_argument("--uri", required=True)
    p.add_argument("--collection", required=True)
    p.add_argument("--vectors", type=Path, required=True)
    p.add_argument("--ef", type=int, required=True)
    p.add_argument("--top-k", type=int, default=TOP_K)
    p.add_argument("--limit", type=int, help="only the first N vectors")
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
    client.close()
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
