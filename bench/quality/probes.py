"""Neighbour and analogy checks, by exact numpy search over a collection's own vectors
(the same vectors the ingest stores; exact search, so no index recall enters the figures)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wordsim.ingest.wordlist import Word

FREQUENT_POOL = 20_000
QUERIES = 1000
SEED = 11
ANALOGY_SAMPLE = 2000


def frequent_words(words: Sequence[Word], n: int = QUERIES, seed: int = SEED) -> list[str]:
    """``n`` random words (fixed seed) among jieba's most frequent multi-character words."""
    pool = sorted((w for w in words if len(w.text) > 1), key=lambda w: -w.freq)[:FREQUENT_POOL]
    rng = np.random.default_rng(seed)
    return [pool[i].text for i in sorted(rng.choice(len(pool), n, replace=False))]


def top_neighbours(
    vectors: np.ndarray, texts: Sequence[str], queries: np.ndarray, query_texts: Sequence[str], k: int = 5
) -> list[list[str]]:
    """Top-``k`` texts by inner product for each query, the query's own text excluded."""
    out = []
    for start in range(0, len(queries), 256):
        scores = queries[start : start + 256] @ vectors.T
        best = np.argpartition(-scores, k + 1, axis=1)[:, : k + 1]
        for row, cand in enumerate(best):
            cand = cand[np.argsort(-scores[row, cand], kind="stable")]
            q = query_texts[start + row]
            out.append([texts[c] for c in cand if texts[c] != q][:k])
    return out


def share_sharing_a_char(query_texts: Sequence[str], neighbours: Sequence[Sequence[str]]) -> float:
    """Share of all neighbours that share at least one character with their query."""
    pairs = [(q, n) for q, ns in zip(query_texts, neighbours, strict=True) for n in ns]
    return sum(1 for q, n in pairs if set(q) & set(n)) / max(len(pairs), 1)


def analogy_accuracy(
    questions: Sequence[tuple[str, str, str, str]],
    vectors: np.ndarray,
    index: dict[str, int],
    *,
    sample: int = ANALOGY_SAMPLE,
    seed: int = SEED,
) -> tuple[float, int, int]:
    """3CosAdd top-1 accuracy (b - a + c, excluding a, b, c) over a fixed-seed sample of
    the questions whose four words the vocabulary holds: (accuracy, covered, asked)."""
    rng = np.random.default_rng(seed)
    asked = [
        questions[i] for i in sorted(rng.choice(len(questions), min(sample, len(questions)), replace=False))
    ]
    covered = [q for q in asked if all(w in index for w in q)]
    if not covered:
        return float("nan"), 0, len(asked)
    ids = np.array([[index[w] for w in q] for q in covered])
    right = 0
    for start in range(0, len(ids), 128):
        block = ids[start : start + 128]
        target = vectors[block[:, 1]] - vectors[block[:, 0]] + vectors[block[:, 2]]
        scores = target @ vectors.T
        rows = np.arange(len(block))
        for col in range(3):
            scores[rows, block[:, col]] = -np.inf
        right += int((scores.argmax(axis=1) == block[:, 3]).sum())
    return right / len(covered), len(covered), len(asked)
