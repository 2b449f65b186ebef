"""Spearman's rho with a percentile bootstrap interval, and the character-overlap baseline."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BOOTSTRAP = 1000
SEED = 7


def ranks(values: Sequence[float]) -> np.ndarray:
    """Ranks from 1, ties sharing their mean rank."""
    x = np.asarray(values, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    r = np.empty(len(x))
    r[order] = np.arange(1, len(x) + 1)
    uniq, inverse = np.unique(x, return_inverse=True)
    if len(uniq) < len(x):
        sums = np.bincount(inverse, weights=r)
        counts = np.bincount(inverse)
        r = (sums / counts)[inverse]
    return r


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    ra, rb = ranks(a), ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = float(np.sqrt((ra * ra).sum() * (rb * rb).sum()))
    return float((ra * rb).sum() / denom) if denom else float("nan")


def rho_with_ci(
    gold: Sequence[float], pred: Sequence[float], n: int = BOOTSTRAP
) -> tuple[float, float, float]:
    """rho and its 95% percentile bootstrap interval over resampled pairs (fixed seed)."""
    gold, pred = np.asarray(gold), np.asarray(pred)
    rng = np.random.default_rng(SEED)
    samples = []
    for _ in range(n):
        idx = rng.integers(0, len(gold), len(gold))
        samples.append(spearman(gold[idx], pred[idx]))
    lo, hi = np.nanpercentile(samples, [2.5, 97.5])
    return spearman(gold, pred), float(lo), float(hi)


def char_overlap(a: str, b: str) -> float:
    """Jaccard similarity of the two words' character sets."""
    sa, sb = set(a), set(b)
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0
