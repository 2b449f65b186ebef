"""``python -m bench.quality.fusion``: the fused collection's shares, chosen by 5-fold
cross-validation on the public pair sets, written as a section of bench/QUALITY.md.

Each fold's shares maximise the mean rho of wordsim-240, wordsim-296 and COS960 on the other
four folds' pairs; the held-out fold scores them (the check is never what is tuned on). The
served shares (``wordsim/model/fused.SHARES``) are then those chosen on all pairs, reported
with 95% bootstrap intervals beside each single part and character overlap.
"""

from __future__ import annotations

import itertools
import re
import sys

import numpy as np

from bench.quality.__main__ import DEFAULT_DATA, OUTPUT
from bench.quality.data import read_pair_sets
from bench.quality.stats import char_overlap, rho_with_ci, spearman
from wordsim.model.fused import SHARES
from wordsim.model.kinds import open_encoder
from wordsim.settings import load_settings

SETS = ("wordsim240", "wordsim296", "cos960_all")
STEP = 0.05
FOLDS = 5
SEED = 5
SECTION = "## Fused collection: shares by cross-validation"


def part_cosines(fused, sets) -> list[np.ndarray]:
    """Per set, (parts, pairs) cosines of each part, as the fused encoder computes them."""
    out = []
    for s in sets:
        texts = sorted({t for p in s.pairs for t in p})
        row = {t: i for i, t in enumerate(texts)}
        a, b = [row[x] for x, _ in s.pairs], [row[y] for _, y in s.pairs]
        cos = [np.einsum("ij,ij->i", v[a], v[b]) for v in (p.encode(texts) for p in fused.parts)]
        out.append(np.array(cos))
    return out


def grid(parts: int):
    ticks = np.round(np.arange(0, 1 + 1e-9, STEP), 2)
    for head in itertools.product(ticks, repeat=parts - 1):
        if sum(head) <= 1 + 1e-9:
            yield (*head, round(1 - sum(head), 2))


def best(cosines, golds, masks) -> tuple:
    def score(shares):
        return np.mean(
            [spearman(g[m], (np.array(shares) @ c)[m]) for c, g, m in zip(cosines, golds, masks, strict=True)]
        )

    return tuple(float(x) for x in max(grid(len(cosines[0])), key=score))


def main() -> int:
    settings = load_settings()
    fused = open_encoder(settings, "fused", threads=1)
    sets = [s for s in read_pair_sets(DEFAULT_DATA) if s.name in SETS]
    cosines, golds = part_cosines(fused, sets), [np.array(s.gold) for s in sets]
    rng = np.random.default_rng(SEED)
    folds = [rng.integers(0, FOLDS, len(g)) for g in golds]
    held = [np.zeros(len(g)) for g in golds]
    chosen = []
    for k in range(FOLDS):
        shares = best(cosines, golds, [f != k for f in folds])
        chosen.append(shares)
        for c, f, h in zip(cosines, folds, held, strict=True):
            h[f == k] = (np.array(shares) @ c)[f == k]
    final = best(cosines, golds, [np.ones(len(g), bool) for g in golds])
    names = [p.backend for p in fused.parts]
    lines = [
        SECTION,
        "",
        "Command: `python -m bench.quality.fusion` (parts: sentence encoder, word2vec with its fallback,",
        "characters;"
        f" shares on a {STEP} grid, {FOLDS}-fold cross-validation over the pairs of {', '.join(SETS)}).",
        f"Shares per fold ({', '.join(names)}): {'; '.join(str(c) for c in chosen)}. On all pairs: {final};",
        f"served (`wordsim/model/fused.SHARES`): {SHARES}.",
        "",
        "| set | fused, held-out folds | fused (served shares) | "
        + " | ".join(names)
        + " | character overlap |",
        "|---|---|---|" + "---|" * len(names) + "---|",
    ]
    fmt = lambda v: f"{v[0]:.3f} [{v[1]:.2f}, {v[2]:.2f}]"  # noqa: E731
    for s, c, g, h in zip(sets, cosines, golds, held, strict=True):
        cells = [fmt(rho_with_ci(g, h)), fmt(rho_with_ci(g, np.array(SHARES) @ c))]
        cells += [fmt(rho_with_ci(g, part)) for part in c]
        cells.append(fmt(rho_with_ci(g, [char_overlap(a, b) for a, b in s.pairs])))
        lines.append(f"| {s.name} | " + " | ".join(cells) + " |")
    text = OUTPUT.read_text() if OUTPUT.is_file() else ""
    text = re.sub(rf"\n{re.escape(SECTION)}\n.*?(?=\n## |\Z)", "", text, flags=re.S).rstrip("\n")
    OUTPUT.write_text(text + "\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
