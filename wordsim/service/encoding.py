"""Encoding a batch so that one text never fails the others: the texts are encoded
together, and if the encoder refuses the batch, each alone."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from prometheus_client import Histogram

from wordsim.service import metrics

Encode = Callable[[list[str]], tuple[np.ndarray, list[str] | None]]
"""Texts -> (unit vectors, per text where its vector came from, or None)."""


def encode_isolated(
    encode: Encode, texts: list[str], seconds: Histogram
) -> tuple[np.ndarray, list | None, list[Exception | None]]:
    """Encode ``texts`` together; if that fails, each alone, so that only a text the
    encoder refuses by itself fails (its row of vectors is then left zero)."""
    try:
        vectors, sources = metrics.timed(seconds, encode, texts)
        return vectors, sources, [None] * len(texts)
    except Exception as exc:
        if len(texts) == 1:
            return np.zeros((1, 0), dtype=np.float32), None, [exc]
    rows: list[np.ndarray | None] = []
    sources: list[str | None] = []
    errors: list[Exception | None] = []
    for text in texts:
        try:
            one, one_source = metrics.timed(seconds, encode, [text])
            rows.append(one[0])
            sources.append(None if one_source is None else one_source[0])
            errors.append(None)
        except Exception as exc:
            rows.append(None)
            sources.append(None)
            errors.append(exc)
    dim = next((len(r) for r in rows if r is not None), 0)
    vectors = np.zeros((len(texts), dim), dtype=np.float32)
    for i, row in enumerate(rows):
        if row is not None:
            vectors[i] = row
    return vectors, sources, errors
