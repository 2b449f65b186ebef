"""The encoder alone, on the same words and settings as the ingest (a subprocess of the bench).

    python -m bench.probes.encode_only --limit 20000 --queries q.json --out-dir bench/out

Times ``encoder.encode(all_words)`` only (model loading reported apart), saves the
vectors (``vectors.npy``, row i = ``ids.npy[i]``) and, for the recall section, the
vectors of the benchmark queries computed one at a time with one thread, as the server
does (``query_vectors.npy``, and the time of each). Prints one JSON line.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np

from bench.probes.protocol import add_queries_arg, emit, parser, read_texts
from bench.units import KIB, MS_PER_S
from wordsim.ingest.wordlist import jieba_dict_path, read_words
from wordsim.model.kinds import open_encoder
from wordsim.model.source import resolve_model
from wordsim.settings import load_settings

WARMUP_QUERIES = 20


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--limit", type=int)
    add_queries_arg(p)
    p.add_argument("--out-dir", type=Path, required=True)
    args = p.parse_args(argv)

    settings = load_settings()
    words = read_words(jieba_dict_path(), limit=args.limit).words
    texts = [w.text for w in words]
    t0 = time.perf_counter()
    model = resolve_model(settings, allow_download=False)
    encoder = open_encoder(settings, "bert", source=model)  # same threads and batch size as the ingest
    load_s = time.perf_counter() - t0

    t0, cpu0 = time.perf_counter(), time.process_time()
    vectors = encoder.encode(texts)
    encode_s, encode_cpu_s = time.perf_counter() - t0, time.process_time() - cpu0

    # The queries as the server encodes them: one at a time, one inference thread.
    single = open_encoder(settings, "bert", source=model, threads=settings.encoder_threads or 1)
    queries = read_texts(args.queries)
    for q in queries[:WARMUP_QUERIES]:
        single.encode_one(q)
    one_ms, rows = [], []
    for q in queries:
        t0 = time.perf_counter()
        rows.append(single.encode_one(q))
        one_ms.append((time.perf_counter() - t0) * MS_PER_S)
    query_vectors = np.stack(rows)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    np.save(args.out_dir / "vectors.npy", vectors)
    np.save(args.out_dir / "ids.npy", np.array([w.id for w in words], dtype=np.int64))
    np.save(args.out_dir / "query_vectors.npy", query_vectors)
    emit(
        {
            "words": len(texts),
            "load_s": load_s,
            "encode_s": encode_s,
            "encode_cpu_s": encode_cpu_s,
            "words_per_s": len(texts) / encode_s,
            "fingerprint": model.fingerprint,
            "is_standin": model.is_standin,
            "backend": encoder.backend,
            "batch_size": settings.encode_batch_size,
            "threads": settings.encoder_threads,
            "encode_one_ms": one_ms,
            "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * KIB,
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
