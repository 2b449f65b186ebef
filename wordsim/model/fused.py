"""The fused encoder: three views of a text, each a unit vector, concatenated with weights
``w_i`` whose squares (the parts' *shares*) sum to 1. The result is unit length, and its
inner product with another such vector is ``sum share_i * cos_i``: one inner-product search
in Milvus is the fused similarity, and /compare returns the same number.

The parts: the sentence encoder (meaning; every text has a vector), the word2vec table
(meaning where the table knows the word; the table's own fallback, segments then
characters, where it does not) and the characters (which characters two words share: what
COS960's judges reward). The shares were chosen by cross-validation on the public sets
(bench/QUALITY.md); they and the parts' fingerprints make the fused fingerprint, so a
collection built with other shares or parts is refused and rebuilt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wordsim.settings import Settings


@dataclass(frozen=True)
class FusedSource:
    location: str
    fingerprint: str
    is_standin: bool = False


SHARES = (0.6, 0.2, 0.2)
"""Squared weights of the (sentence, word2vec, characters) parts: each part's share of the
fused cosine. Chosen by cross-validation on the public sets (bench/QUALITY.md)."""
CHAR_DIMS = 128
"""Dimensions of the character part: random directions collide less in more dimensions, at
the cost of storage (the sizes measured: bench/QUALITY.md)."""


class CharacterEncoder:
    """A text's set of characters as one unit vector: the sum of a fixed random direction per
    character (seeded by the character's blake2b hash: the same on every machine). Two texts'
    inner product follows their shared characters (about |A & B| / sqrt(|A| |B|))."""

    backend = "characters"

    def __init__(self, dim: int = CHAR_DIMS) -> None:
        self.dim = dim
        self._directions: dict[str, np.ndarray] = {}

    @property
    def fingerprint(self) -> str:
        return f"chars:blake2b-normal-{self.dim}"

    def direction(self, ch: str) -> np.ndarray:
        v = self._directions.get(ch)
        if v is None:
            seed = int.from_bytes(hashlib.blake2b(ch.encode("utf-8"), digest_size=8).digest(), "little")
            v = self._directions[ch] = np.random.default_rng(seed).normal(size=self.dim)
        return v

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float64)
        for i, text in enumerate(texts):
            for ch in set(text):
                out[i] += self.direction(ch)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms > 0, norms, 1.0)).astype(np.float32)


class FusedEncoder:
    """``encode(texts)`` like the other encoders: the weighted concatenation of the parts."""

    backend = "fused"

    def __init__(self, parts: Sequence, shares: Sequence[float] = SHARES) -> None:
        if len(parts) != len(shares) or abs(sum(shares) - 1.0) > 1e-9 or min(shares) < 0:
            raise ValueError(f"fused shares {tuple(shares)}: one per part, >= 0, summing to 1")
        self.parts, self.shares = list(parts), tuple(float(x) for x in shares)
        self.weights = np.sqrt(self.shares)
        self.dim = sum(p.dim for p in self.parts)
        self.batch_size = getattr(self.parts[0], "batch_size", 256)
        self.source = FusedSource("+".join(p.backend for p in self.parts), self.fingerprint)

    @property
    def static(self):
        """The word2vec part (its table is part of the fused collection's vocabulary)."""
        return next(p for p in self.parts if hasattr(p, "table"))

    @property
    def fingerprint(self) -> str:
        inner = ";".join(
            f"{share:g}:{p.fingerprint}" for share, p in zip(self.shares, self.parts, strict=True)
        )
        return f"fused({inner})"

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Unit vectors for ``texts``, shape (len(texts), dim), float32, in input order."""
        out = np.concatenate(
            [w * p.encode(texts, batch_size) for w, p in zip(self.weights, self.parts, strict=True)], axis=1
        )
        # A part with nothing to say (the word2vec fallback knows none of the characters)
        # is a zero block: rescale so every stored vector stays unit length.
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms > 0, norms, 1.0)).astype(np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


def open_fused(settings: Settings, *, threads: int | None = None, source=None, location=None) -> FusedEncoder:
    """The fused encoder over the sentence encoder, the configured word2vec table (with its
    fallback for texts it lacks) and the character part."""
    from wordsim.model.sentence import SentenceEncoder
    from wordsim.model.static import StaticEncoder

    sentence = SentenceEncoder(threads=threads, batch_size=settings.encode_batch_size)
    static = StaticEncoder.load(
        str(location or settings.word2vec_path), batch_size=settings.encode_batch_size
    )
    return FusedEncoder([sentence, static, CharacterEncoder()])
