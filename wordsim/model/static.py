"""Static word vectors as an encoder: a word2vec table looked up, with a fallback for
texts the table lacks.

The policy for a text the table lacks (measured in bench/QUALITY.md): cut it into jieba
segments; each segment the table holds contributes its vector, each other segment the
mean of its characters' vectors (characters the table lacks contribute nothing); the
text's vector is the mean of those, scaled to unit length. Every text is labelled with
where its vector came from: ``table`` (the word itself), ``segments`` (at least one
whole segment found), ``characters`` (characters only) or ``none`` (nothing known: a
zero vector, which is similar to nothing).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wordsim.ingest.vocabulary import RULE as VOCABULARY_RULE
from wordsim.model.word2vec import Word2VecTable, load_word2vec

SOURCES = ("table", "segments", "characters", "none")
"""Where a text's vector came from, most to least direct."""


@dataclass(frozen=True)
class StaticSource:
    """The identity of a word2vec table (what ``ModelSource`` is for a BERT model)."""

    location: str
    fingerprint: str


_jieba_lock = threading.Lock()


def _segments(text: str) -> list[str]:
    """jieba's segments of ``text`` (dictionary only, no HMM guesses: deterministic)."""
    import jieba  # imported on first use: its dictionary takes a second to load

    with _jieba_lock:  # jieba's lazy initialisation is not thread-safe
        jieba.setLogLevel(60)
        return [s for s in jieba.lcut(text, HMM=False) if s.strip()]


class StaticEncoder:
    """``encode(texts)`` like the BERT encoders, from a word2vec table."""

    backend = "word2vec"

    def __init__(self, table: Word2VecTable, location: str = "", *, batch_size: int = 256) -> None:
        self.table = table
        self.dim = table.dim
        self.batch_size = batch_size
        self.source = StaticSource(location or table.name, table.fingerprint)

    @classmethod
    def load(cls, location: str, *, batch_size: int = 256) -> StaticEncoder:
        return cls(load_word2vec(location), str(location), batch_size=batch_size)

    @property
    def fingerprint(self) -> str:
        """The table's identity and the vocabulary rule the collection's words were chosen
        by: a collection stored under another rule (or none) is refused, then rebuilt."""
        return f"{self.table.fingerprint}+{VOCABULARY_RULE}"

    def vector_of(self, text: str) -> tuple[np.ndarray, str]:
        """One text's unit vector and its source (see :data:`SOURCES`)."""
        table = self.table
        row = table.index.get(text)
        if row is not None:
            return table.vectors[row], "table"
        parts: list[np.ndarray] = []
        whole = 0
        for segment in _segments(text) if len(text) > 1 else [text]:
            row = table.index.get(segment)
            if row is not None:
                parts.append(table.vectors[row])
                whole += 1
                continue
            chars = [table.index[c] for c in segment if c in table.index]
            if chars:
                parts.append(table.vectors[chars].mean(axis=0))
        if not parts:
            return np.zeros(self.dim, dtype=np.float32), "none"
        mean = np.mean(parts, axis=0)
        norm = float(np.linalg.norm(mean))
        vector = (mean / norm if norm > 0 else mean).astype(np.float32)
        return vector, "segments" if whole else "characters"

    def encode_with_sources(self, texts: Sequence[str]) -> tuple[np.ndarray, list[str]]:
        """Unit vectors of ``texts`` (input order) and, per text, where each came from."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        sources = []
        for i, text in enumerate(texts):
            out[i], source = self.vector_of(text)
            sources.append(source)
        return out, sources

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Unit vectors for ``texts``, shape (len(texts), dim), float32, in input order."""
        return self.encode_with_sources(texts)[0]

    def encode_one(self, text: str) -> np.ndarray:
        return self.vector_of(text)[0]
