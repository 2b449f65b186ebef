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


def traditional_converter():
    """Simplified -> Traditional Chinese (PyPI ``opencc``), for Traditional-Chinese models."""
    import opencc

    return opencc.OpenCC("s2t").convert


class BaseEncoder:
    """Length-sorted batching and order restoration; a backend embeds one batch."""

    backend = "base"
    dim: int
    batch_size: int
    source: ModelSource
    pooling = "mean"
    """How token states become one vector (``pooling.POOLINGS``)."""
    convert = None
    """A text conversion applied before tokenising (Simplified -> Traditional), or None."""

    @property
    def fingerprint(self) -> str:
        """Identity of the vectors: the model, and the pooling and conversion when they are
        not the original ones (not the backend: both give the same vectors)."""
        fingerprint = self.source.fingerprint
        if self.pooling != "mean":
            fingerprint += f"+pooling={self.pooling}"
        if self.convert is not None:
            fingerprint += "+s2t"
        return fingerprint

    def _prepared(self, texts: Sequence[str]) -> Sequence[str]:
        return texts if self.convert is None else [self.convert(t) for t in texts]

    def _embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Unit vectors for ``texts``, shape (len(texts), dim), float32, in input order."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        texts = self._prepared(texts)
        for idx in length_sorted_batches(texts, batch_size or self.batch_size):
            out[idx] = self._embed_batch([texts[i] for i in idx])
        return out

    def encode_one(self, text: str) -> np.ndarray:
        """Vector of a single text, shape (dim,)."""
        return self._embed_batch(self._prepared([text]))[0]
