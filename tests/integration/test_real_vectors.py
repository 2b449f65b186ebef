"""Real vectors: the calibration centres random pairs of the stand-in model's vectors, and
the real synonyms word2vec table (125,796 words) loads and answers as expected. The word2vec
reader and the fallback on small tables are in tests/unit/test_word2vec.py."""

from __future__ import annotations

import numpy as np
import pytest

from wordsim.model.static import StaticEncoder
from wordsim.model.word2vec import SYNONYMS_ARCHIVE
from wordsim.store.calibration import measure


def test_calibration_centres_random_pairs_of_real_vectors(subset_vectors):
    calibration = measure(subset_vectors)
    assert 0.3 < calibration.median < 0.99  # the stand-in's raw scores: all high
    rng = np.random.default_rng(12345)  # other pairs than the calibration's own
    a = rng.integers(0, len(subset_vectors), 1000)
    b = (a + rng.integers(1, len(subset_vectors), 1000)) % len(subset_vectors)
    scores = [
        calibration.score(float(subset_vectors[i] @ subset_vectors[j])) for i, j in zip(a, b, strict=True)
    ]
    assert abs(float(np.median(scores))) <= 0.05
    assert calibration.score(1.0) == pytest.approx(1.0)


def test_the_real_synonyms_vectors():
    assert SYNONYMS_ARCHIVE.is_file(), "make setup downloads it (make synonyms)"
    enc = StaticEncoder.load(str(SYNONYMS_ARCHIVE))
    assert (len(enc.table.words), enc.dim) == (125796, 100)
    scores = enc.table.vectors @ enc.encode_one("医生")
    top = [enc.table.words[i] for i in np.argsort(-scores)[1:6]]
    assert "医师" in top or "护士" in top, top
    _, sources = enc.encode_with_sources(["医生", "医生护士长官", "犇"])
    assert sources[0] == "table" and sources[1] == "segments"
