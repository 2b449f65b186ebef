"""A collection's score calibration: what a typical unrelated pair of its words scores.

At ingest, random pairs of the stored vectors (fixed seed) are compared; the median
inner product ``m`` is stored as a collection property. A calibrated score is then
``(distance - m) / (1 - m)``: about 0 for a typical random pair of dictionary words,
1 for identical vectors, negative for pairs further apart than a typical one. Ranking
never changes (the map is increasing); ``distance`` stays the raw inner product.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

log = logging.getLogger("wordsim.store")

PROP_CALIBRATION = "wordsim.calibration"
"""Collection property: the JSON of :class:`Calibration`."""
SAMPLE_WORDS = 2000
SAMPLE_PAIRS = 20000
SEED = 20240917


@dataclass(frozen=True)
class Calibration:
    median: float
    """Median inner product of random pairs of distinct stored words."""
    p05: float
    p95: float
    pairs: int
    seed: int

    def score(self, distance: float) -> float:
        return (distance - self.median) / (1.0 - self.median)

    def distance(self, score: float) -> float:
        """The distance whose score is ``score`` (a threshold given as a score)."""
        return self.median + score * (1.0 - self.median)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


def measure(vectors: np.ndarray, *, pairs: int = SAMPLE_PAIRS, seed: int = SEED) -> Calibration:
    """Statistics of the inner products of ``pairs`` random pairs of distinct rows."""
    rng = np.random.default_rng(seed)
    n = len(vectors)
    if n < 2:
        raise ValueError("calibration needs at least two vectors")
    a = rng.integers(0, n, pairs)
    b = (a + rng.integers(1, n, pairs)) % n  # never a == b
    sims = np.einsum("ij,ij->i", vectors[a], vectors[b]).astype(np.float64)
    p05, median, p95 = np.percentile(sims, [5, 50, 95])
    return Calibration(float(median), float(p05), float(p95), int(pairs), int(seed))


def sample_ids(ids: Sequence[int], *, size: int = SAMPLE_WORDS, seed: int = SEED) -> list[int]:
    """A fixed-seed sample of ``ids`` (all of them when there are fewer)."""
    ids = list(ids)
    if len(ids) <= size:
        return ids
    rng = np.random.default_rng(seed)
    return sorted(int(ids[i]) for i in rng.choice(len(ids), size, replace=False))


def read_calibration(properties: Mapping[str, str]) -> Calibration | None:
    raw = properties.get(PROP_CALIBRATION)
    if not raw:
        return None
    try:
        return Calibration(**json.loads(raw))
    except (ValueError, TypeError):
        log.warning("ignoring an unreadable calibration property: %r", raw[:200])
        return None


def ensure_calibration(store, ids: Sequence[int]) -> Calibration:
    """The collection's calibration; measured from its stored vectors and recorded first
    when it has none (a collection built before calibration existed gets one too)."""
    found = read_calibration(store.properties())
    if found is not None:
        return found
    rows = store.fetch(sample_ids(ids))
    vectors = np.asarray([row["vector"] for row in rows], dtype=np.float32)
    calibration = measure(vectors)
    store.client.alter_collection_properties(store.name, {PROP_CALIBRATION: calibration.to_json()})
    log.info(
        "calibrated %s: random pairs median %.3f (5%%..95%%: %.3f..%.3f)",
        store.name,
        calibration.median,
        calibration.p05,
        calibration.p95,
    )
    return calibration
