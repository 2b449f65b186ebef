"""The query sets of a run: dictionary words, out-of-dictionary phrases, and a pool of
further words for the timed runs, all drawn with a fixed seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Queries:
    """The fixed-seed query sets of a run."""

    dictionary: list[str]
    ood: list[str]
    pool: list[str]
    """Further distinct dictionary words for the timed (c=16) runs."""

    def segments(self, names: tuple[str, ...]) -> dict[str, list[str]]:
        """Disjoint equal slices of the pool, one per name."""
        seg = len(self.pool) // len(names)
        return {name: self.pool[i * seg : (i + 1) * seg] for i, name in enumerate(names)}


def pick_queries(
    texts: list[str], vocab: set[str], n_dict: int, n_ood: int, seed: int, max_chars: int
) -> Queries:
    """Random words of ``texts`` (the ingested ones), and two-word phrases of them that are
    not in ``vocab`` (the whole dictionary)."""
    from wordsim.service.params import normalize_text

    usable = sorted({t for t in texts if normalize_text(t) == t and 0 < len(t) <= max_chars})
    rng = np.random.default_rng(seed)
    order = [usable[i] for i in rng.permutation(len(usable))]
    dictionary, pool = order[:n_dict], order[n_dict:]
    ood: list[str] = []
    seen: set[str] = set()
    while len(ood) < n_ood:
        a, b = (usable[i] for i in rng.integers(0, len(usable), size=2))
        phrase = a + b
        if phrase not in vocab and phrase not in seen and len(phrase) <= max_chars:
            seen.add(phrase)
            ood.append(phrase)
    return Queries(dictionary, ood, pool)
