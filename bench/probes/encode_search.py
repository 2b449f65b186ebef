"""The service's work for one query without HTTP: encode, then search, in one process, one
query after another, as the server does at concurrency 1. Each part is timed inside the
sequence, so the figure includes what the two do to each other on shared cores (the
encoder's and Milvus' working sets evicting each other from the caches), which the
back-to-back "encoder alone" and "search only" loops do not see.

    python -m bench.probes.encode_search --uri http://127.0.0.1:19530 --queries q.json

Prints one JSON line.
"""

from __future__ import annotations

import sys
import time

from bench.common import summarize
from bench.probes.protocol import TOP_K, add_queries_arg, emit, parser, read_texts
from bench.units import MS_PER_S
from wordsim.model.loader import encoder_for
from wordsim.model.source import resolve_model
from wordsim.settings import load_settings
from wordsim.store.collection import WordStore

WARMUP = 30


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--uri", required=True)
    add_queries_arg(p)
    args = p.parse_args(argv)
    texts = read_texts(args.queries)
    settings = load_settings().replace(milvus_uri=args.uri)
    # As the server: one inference thread per call.
    encoder = encoder_for(settings, resolve_model(settings), threads=settings.encoder_threads or 1)
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
    emit({"encode_ms": summarize(enc), "search_ms": summarize(search), "total_ms": summarize(total)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
