"""The public test sets, read from a folder (default ``../shared/eval``; never copied here).

``*.tsv``: ``word1<TAB>word2<TAB>human score`` per line. ``ca8_*.txt``: CA8 analogies,
``: section`` headers then ``a b c d`` lines (a is to b as c is to d).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SET_ORDER = ["wordsim240", "wordsim296", "cos960_all", "cos960_noun", "cos960_verb", "cos960_adj"]


@dataclass(frozen=True)
class PairSet:
    name: str
    pairs: list[tuple[str, str]]
    gold: list[float]


def read_pair_sets(folder: Path) -> list[PairSet]:
    """Every ``*.tsv`` pair set of ``folder``, known ones first in a fixed order."""
    files = sorted(
        folder.glob("*.tsv"), key=lambda p: (SET_ORDER.index(p.stem) if p.stem in SET_ORDER else 99, p.stem)
    )
    sets = []
    for path in files:
        pairs, gold = [], []
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) != 3:
                continue
            try:
                score = float(parts[2])
            except ValueError:
                continue  # a header line
            pairs.append((parts[0].strip(), parts[1].strip()))
            gold.append(score)
        if pairs:
            sets.append(PairSet(path.stem, pairs, gold))
    return sets


def read_analogies(path: Path) -> list[tuple[str, str, str, str]]:
    """The ``a b c d`` questions of a CA8 file."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 4 and not line.startswith(":"):
            out.append((parts[0], parts[1], parts[2], parts[3]))
    return out
