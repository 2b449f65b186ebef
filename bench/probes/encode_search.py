"""The service's work for one query without HTTP: encode, then search, in one process, one
query after another, as the server does at concurrency 1. Each part is timed inside the
sequence, so the figure includes what the two do to each other on 2 shared cores (the
encoder's and Milvus' working sets evicting each other from the caches), which the
back-to-back "encoder alone" and "search only" loops do not see.

    python bench/inproc_probe.py --uri http://127.0.0.1:19530 --queries q.json

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

WARMUP = 30
TOP_K = 3


def main(argv: list[str] | None = None) -> int:
    from bench_common import MS_PER_S, summarize

    from config import load_settings
    from embedding import encoder_for
    from model_source import resolve_model
    from store import WordStore

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--uri", required=True)
    p.add_argument("--queries", type=Path, required=True, help="JSON list of query texts")
    args = p.parse_args(argv)
    texts = json.loads(args.queries.read_text(encoding="utf-8"))
    settings = load_settings().replace(milvus_uri=args.uri)
    # As the server: one inference thread per call.
    encoder = encoder_for(settings, resolve_model(settings), threads=settings.torch_threads or 1)
    store = WordStore.open(settings)
    try:
        store.ensure_loaded()  # Milvus Lite forgets the load when its process ends
        for text in texts[:WARMUP]:
            store.search_many(encoder.encode([text]), TOP_K)
        enc, search, total = [], [], []
        for text in texts:
            t0 = time.perf_counter()
            vectors = encoder.encode([text])
            t1 = time.perf_counter()
            store.search_many(vectors, TOP_K)
            t2 = time.perf_counter()
            enc.append((t1 - t0) * MS_PER_S)
            search.append((t2 - t1) * MS_PER_S)
            total.append((t2 - t0) * MS_PER_S)
    finally:
        store.close()
    out = {"encode_ms": summarize(enc), "search_ms": summarize(search), "total_ms": summarize(total)}
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
