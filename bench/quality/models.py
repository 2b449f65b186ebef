"""The vectors measured: each served collection's model exactly as the service computes
them, and the variants measured beside them (fallback policies, whitening)."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence

import numpy as np

from bench.common import OUT_DIR
from wordsim.ingest.wordlist import Word, jieba_dict_path, read_words
from wordsim.model.kinds import open_encoder
from wordsim.settings import Settings

log = logging.getLogger("wordsim.quality")

CACHE_DIR = OUT_DIR / "quality"
RIDGE_LAMBDA = 1.0


def dictionary() -> list[Word]:
    """jieba's dictionary: the default collection's words."""
    return read_words(jieba_dict_path()).words


def dictionary_vectors(encoder, words: Sequence[Word]) -> np.ndarray:
    """The default collection's vectors, computed as the ingest does; cached per model in
    bench/out/quality/ (encoding every dictionary word takes minutes)."""
    key = hashlib.sha256(f"{encoder.fingerprint}|{len(words)}|{words[-1].text}".encode()).hexdigest()[:16]
    path = CACHE_DIR / f"dict-{key}.npy"
    if path.is_file():
        return np.load(path)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    texts = [w.text for w in words]
    out = np.empty((len(texts), encoder.dim), dtype=np.float32)
    step = 16384
    for start in range(0, len(texts), step):
        out[start : start + step] = encoder.encode(texts[start : start + step])
        log.info(
            "encoded %d of %d dictionary words (%.0f s)", start + step, len(texts), time.perf_counter() - t0
        )
    np.save(path, out)
    return out


def open_models(settings: Settings) -> dict[str, object]:
    """Encoder of every served collection, by collection name, default first."""
    return {name: open_encoder(settings, kind) for name, kind in settings.served_collections}


def chars_only(static, text: str) -> np.ndarray:
    """The table's vector, else the mean of the text's characters' vectors (no segments)."""
    table = static.table
    if text in table.index:
        return table.vectors[table.index[text]]
    rows = [table.index[c] for c in text if c in table.index]
    if not rows:
        return np.zeros(static.dim, dtype=np.float32)
    mean = table.vectors[rows].mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


class Ridge:
    """A linear map from the BERT model's vectors to the word2vec table's, fitted on the
    words both know; used only for texts the table lacks."""

    def __init__(self, words: Sequence[Word], bert_vectors: np.ndarray, static) -> None:
        rows = [(i, static.table.index[w.text]) for i, w in enumerate(words) if w.text in static.table.index]
        x = bert_vectors[[i for i, _ in rows]].astype(np.float64)
        y = static.table.vectors[[j for _, j in rows]].astype(np.float64)
        self.mean = x.mean(axis=0)
        xc = x - self.mean
        self.weights = np.linalg.solve(xc.T @ xc + RIDGE_LAMBDA * np.eye(x.shape[1]), xc.T @ y)
        self.fitted_on = len(rows)

    def vector(self, static, bert, text: str) -> np.ndarray:
        table = static.table
        if text in table.index:
            return table.vectors[table.index[text]]
        v = (bert.encode_one(text) - self.mean) @ self.weights
        return (v / max(float(np.linalg.norm(v)), 1e-12)).astype(np.float32)


class Whitening:
    """Mean-centring + PCA whitening fitted on the collection's vectors."""

    def __init__(self, vectors: np.ndarray, sample: int = 100_000, seed: int = 3) -> None:
        rng = np.random.default_rng(seed)
        x = vectors[rng.choice(len(vectors), min(sample, len(vectors)), replace=False)].astype(np.float64)
        self.mean = x.mean(axis=0)
        cov = np.cov(x - self.mean, rowvar=False)
        u, s, _ = np.linalg.svd(cov)
        self.matrix = u / np.sqrt(s + 1e-9)

    def apply(self, vectors: np.ndarray) -> np.ndarray:
        w = (np.atleast_2d(vectors) - self.mean) @ self.matrix
        return (w / np.linalg.norm(w, axis=1, keepdims=True)).astype(np.float32)
