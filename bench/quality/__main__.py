"""``python -m bench.quality [--data FOLDER]``: answer quality of every served collection on
public word-similarity sets, written to bench/QUALITY.md.

Pair scores are computed with each collection's encoder exactly as the service computes
them (unit vectors, inner product); neighbour lists and analogies by exact numpy search
over the vectors the collections store. Needs no Milvus.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import PROJECT_DIR
from bench.quality import models, probes, report
from bench.quality.data import read_analogies, read_pair_sets
from bench.quality.stats import char_overlap, rho_with_ci
from wordsim.ingest.vector_source import table_words
from wordsim.model.kinds import open_encoder
from wordsim.settings import configure_logging, load_settings
from wordsim.store.calibration import measure

log = logging.getLogger("wordsim.quality")

DEFAULT_DATA = PROJECT_DIR.parent / "shared" / "eval"
OUTPUT = PROJECT_DIR / "bench" / "QUALITY.md"
EXAMPLES = ["医生", "电脑", "快乐", "汽车", "教师", "音乐", "手机", "银行"]


def pair_scores(vectors: dict[str, np.ndarray], pairs) -> np.ndarray:
    return np.array([float(vectors[a] @ vectors[b]) for a, b in pairs])


def measure_sets(sets, bert, bert_s2t, static, ridge, whitening) -> list[dict]:
    rows = []
    for s in sets:
        texts = sorted({t for p in s.pairs for t in p})
        bv = dict(zip(texts, bert.encode(texts), strict=True))
        sv, sources = static.encode_with_sources(texts)
        src = dict(zip(texts, sources, strict=True))
        sv = dict(zip(texts, sv, strict=True))
        covered = [i for i, (a, b) in enumerate(s.pairs) if src[a] == src[b] == "table"]
        gold = np.array(s.gold)
        wv = dict(zip(texts, whitening.apply(np.stack([bv[t] for t in texts])), strict=True))
        variants = {
            "bert": pair_scores(bv, s.pairs),
            "overlap": np.array([char_overlap(a, b) for a, b in s.pairs]),
            "word2vec": pair_scores(sv, s.pairs),
            "word2vec_chars": pair_scores({t: models.chars_only(static, t) for t in texts}, s.pairs),
            "word2vec_ridge": pair_scores({t: ridge.vector(static, bert, t) for t in texts}, s.pairs),
            "bert_whitened": pair_scores(wv, s.pairs),
            "bert_s2t": pair_scores(dict(zip(texts, bert_s2t.encode(texts), strict=True)), s.pairs),
        }
        row = {"set": s.name, "pairs": len(s.pairs), "covered": len(covered)}
        for name, pred in variants.items():
            row[name] = rho_with_ci(gold, pred)
        row["word2vec_covered"] = rho_with_ci(gold[covered], variants["word2vec"][covered])
        row["fallback_texts"] = sum(1 for t in texts if src[t] != "table")
        rows.append(row)
        log.info("%s: %s", s.name, {k: round(v[0], 3) for k, v in row.items() if isinstance(v, tuple)})
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of the test sets")
    p.add_argument("--out", type=Path, default=OUTPUT)
    args = p.parse_args(argv)
    configure_logging()
    log.setLevel(logging.INFO)
    if not args.data.is_dir():
        print(f"no test sets in {args.data}: give --data FOLDER (README, 'Answer quality')", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    settings = load_settings()
    kinds = dict(settings.served_collections)
    names = {kind: name for name, kind in reversed(settings.served_collections)}
    if not {"bert", "word2vec"} <= set(kinds.values()):
        print(
            "the quality bench compares a bert and a word2vec collection: set WORDSIM_COLLECTIONS",
            file=sys.stderr,
        )
        return 2
    encoders = models.open_models(settings)
    bert, static = encoders[names["bert"]], encoders[names["word2vec"]]
    words = models.dictionary()
    dict_vectors = models.dictionary_vectors(bert, words)
    whitening = models.Whitening(dict_vectors)
    ridge = models.Ridge(words, dict_vectors, static)
    bert_s2t = open_encoder(settings.replace(to_traditional=True), "bert")
    sets = measure_sets(read_pair_sets(args.data), bert, bert_s2t, static, ridge, whitening)

    dict_texts = [w.text for w in words]
    queries = probes.frequent_words(words)
    row_of = {t: i for i, t in enumerate(dict_texts)}
    bert_q = dict_vectors[[row_of[q] for q in queries]]
    static_q, q_sources = static.encode_with_sources(queries)
    # Neighbours among the words the collection stores: the table less what its vocabulary rule leaves out.
    stored = [w.id for w in table_words(static).words]
    stored_vectors, stored_texts = static.table.vectors[stored], [static.table.words[i] for i in stored]
    neighbours = {
        "bert": probes.top_neighbours(dict_vectors, dict_texts, bert_q, queries),
        "word2vec": probes.top_neighbours(stored_vectors, stored_texts, static_q, queries),
    }
    examples = {
        "bert": probes.top_neighbours(dict_vectors, dict_texts, bert.encode(EXAMPLES), EXAMPLES),
        "word2vec": probes.top_neighbours(stored_vectors, stored_texts, static.encode(EXAMPLES), EXAMPLES),
    }
    neighbour_rows = {kind: probes.share_sharing_a_char(queries, found) for kind, found in neighbours.items()}
    analogies = {}
    for part in ("semantic", "morphological"):
        path = args.data / f"ca8_{part}.txt"
        if path.is_file():
            questions = read_analogies(path)
            analogies[part] = {
                "bert": probes.analogy_accuracy(questions, dict_vectors, row_of),
                "word2vec": probes.analogy_accuracy(questions, static.table.vectors, static.table.index),
            }
    calibration = {
        "bert": measure(dict_vectors),
        "bert_whitened": measure(whitening.apply(dict_vectors[:: max(1, len(dict_vectors) // 50_000)])),
        "word2vec": measure(static.table.vectors),
    }
    result = {
        "command": "make quality  (python -m bench.quality --data ../shared/eval)",
        "data": str(args.data),
        "collections": {names["bert"]: bert.fingerprint, names["word2vec"]: static.fingerprint},
        "names": names,
        "sets": sets,
        "neighbours": neighbour_rows,
        "queries": len(queries),
        "queries_in_table": sum(1 for s in q_sources if s == "table"),
        "examples": {kind: dict(zip(EXAMPLES, found, strict=True)) for kind, found in examples.items()},
        "analogies": analogies,
        "calibration": {k: c.median for k, c in calibration.items()},
        "ridge_fitted_on": ridge.fitted_on,
        "seconds": time.perf_counter() - t0,
        "cpu_count": os.cpu_count(),
    }
    (models.CACHE_DIR / "quality.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=1, default=str)
    )
    args.out.write_text(report.render(result))
    print(f"wrote {args.out} in {result['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
