"""The fused encoder over fake parts: unit length, inner product = the shares' weighted sum
of the parts' cosines, fingerprint from the shares and the parts; the character part; the
fused vocabulary's ids. The real parts are in tests/integration/test_fused_http.py."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from wordsim.ingest.vector_source import fused_words
from wordsim.ingest.wordlist import jieba_dict_path, read_words
from wordsim.model.fused import CharacterEncoder, FusedEncoder
from wordsim.model.static import StaticEncoder
from wordsim.model.word2vec import write_word2vec


class RandomPart:
    """A part giving each text a fixed random unit vector (its CRC seeds it)."""

    def __init__(self, dim: int, name: str) -> None:
        self.dim, self.backend, self.fingerprint = dim, name, f"{name}@1"

    def encode(self, texts, batch_size=None):
        out = np.stack(
            [
                np.random.default_rng(zlib.crc32(f"{self.backend}:{t}".encode())).normal(size=self.dim)
                for t in texts
            ]
        )
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def test_fused_similarity_is_the_weighted_sum_of_the_parts():
    parts = [RandomPart(6, "a"), RandomPart(4, "b"), CharacterEncoder(16)]
    fused = FusedEncoder(parts, (0.5, 0.3, 0.2))
    texts = ["医生", "护士", "医院"]
    v = fused.encode(texts)
    assert v.shape == (3, 26) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-6)
    cos = [p.encode(texts) @ p.encode(texts).T for p in parts]
    np.testing.assert_allclose(v @ v.T, 0.5 * cos[0] + 0.3 * cos[1] + 0.2 * cos[2], atol=1e-6)
    np.testing.assert_allclose(fused.encode_one("医生"), v[0])
    assert fused.fingerprint == "fused(0.5:a@1;0.3:b@1;0.2:chars:blake2b-normal-16)"
    with pytest.raises(ValueError, match="summing to 1"):
        FusedEncoder(parts, (0.5, 0.5, 0.5))


def test_character_part_follows_shared_characters():
    chars = CharacterEncoder(128)
    a, b, c, d = chars.encode(["医生", "生医", "医院", "汽车"])
    assert a @ b == pytest.approx(1.0, abs=1e-6)  # the same characters
    assert a @ c > a @ d  # one shared character beats none
    assert not CharacterEncoder(8).encode([""]).any()
    np.testing.assert_array_equal(CharacterEncoder(8).encode(["医"]), CharacterEncoder(8).encode(["医"]))


def test_fused_vocabulary_is_the_dictionary_then_the_tables_other_words(tmp_path):
    lines = read_words(jieba_dict_path()).lines
    words = ["</s>", "医生", "元宇宙", "的学生", "iPhone"]
    path = tmp_path / "t.vec"
    write_word2vec(path, words, np.eye(len(words), 8, dtype=np.float32))
    static = StaticEncoder.load(str(path))
    report = fused_words(static, id_ranges=[(161872, 161873), (lines, lines + 10)])
    # 教师 keeps its line number; 医生 is jieba's (line id only); the table's own clean
    # words follow the dictionary, id = line count + table position.
    assert [(w.id, w.text) for w in report.words] == [
        (161872, "教师"),
        (lines + 2, "元宇宙"),
        (lines + 4, "iPhone"),
    ]
    assert [w.text for w in fused_words(static, limit=3).words] == [
        w.text for w in read_words(jieba_dict_path(), limit=3).words
    ]
