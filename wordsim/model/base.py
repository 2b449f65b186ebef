"""What every encoder backend shares: length-sorted batching with the input order restored."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from wordsim.model.source import ModelSource

MAX_TOKENS = 64
"""Longest token sequence fed to the model; words are far shorter."""


def length_sorted_batches(texts: Sequence[str], batch_size: int) -> Iterator[np.ndarray]:
    """Indices of ``texts`` in batches of similar length, so little padding is computed."""
    order = np.argsort([len(t) for t in texts], kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


class BaseEncoder:
    """Length-sorted batching and order restoration; a backend embeds one batch."""

    backend = "base"
    dim: int
    batch_size: int
    source: ModelSource

    @property
    def fingerprint(self) -> str:
        """Identity of the model (not of the backend: both give the same vectors)."""
        return self.source.fingerprint

    def _embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Unit vectors for ``texts``, shape (len(texts), dim), float32, in input order."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for idx in length_sorted_batches(texts, batch_size or self.batch_size):
            out[idx] = self._embed_batch([texts[i] for i in idx])
        return out

    def encode_one(self, text: str) -> np.ndarray:
        """Vector of a single text, shape (dim,)."""
        return self._embed_batch([text])[0]
