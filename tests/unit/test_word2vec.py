"""Static word vectors: word2vec files (binary, text, inside a .tar.gz), the fallback for
texts the table lacks, the collections table of the settings, on small tables written here.
The calibration and the real synonyms vectors are in tests/integration/test_real_vectors.py."""

from __future__ import annotations

import io
import tarfile

import numpy as np
import pytest

from config import load_settings
from wordsim.model.static import StaticEncoder
from wordsim.model.word2vec import Word2VecError, load_word2vec, write_word2vec

WORDS = ["</s>", "医生", "护士", "医", "生", "老", "师", "教师", "学生", "汽车"]


def small_table(seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    return WORDS, rng.normal(size=(len(WORDS), 8)).astype(np.float32)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


@pytest.mark.parametrize("binary", [True, False])
def test_word2vec_file_round_trips(tmp_path, binary):
    words, vectors = small_table()
    path = tmp_path / "small.vec"
    write_word2vec(path, words, vectors, binary=binary)
    table = load_word2vec(path)
    assert table.words == words and table.dim == 8
    assert table.index["教师"] == 7  # id = position in the file
    np.testing.assert_allclose(table.vectors, unit(vectors), atol=1e-5)
    assert table.fingerprint.startswith("word2vec:small.vec@sha256:")


def test_word2vec_is_read_from_inside_an_archive(tmp_path):
    words, vectors = small_table()
    plain = tmp_path / "words.vector"
    write_word2vec(plain, words, vectors)
    archive = tmp_path / "pkg.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(plain, arcname="pkg/data/words.vector")
    table = load_word2vec(f"{archive}::pkg/data/words.vector")
    assert table.words == words
    assert table.sha256 == load_word2vec(plain).sha256  # the content, wherever it is stored
    with pytest.raises(Word2VecError, match="has no file"):
        load_word2vec(f"{archive}::pkg/other")


def test_truncated_or_missing_file_is_refused(tmp_path):
    words, vectors = small_table()
    path = tmp_path / "cut.vec"
    write_word2vec(path, words, vectors)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(Word2VecError, match="truncated"):
        load_word2vec(path)
    with pytest.raises(Word2VecError, match="not found"):
        load_word2vec(tmp_path / "absent.vec")
    bad = tmp_path / "bad.vec"
    bad.write_bytes(io.BytesIO(b"not a header\n").getvalue())
    with pytest.raises(Word2VecError, match="first line"):
        load_word2vec(bad)


def test_fallback_is_flagged_and_computed_as_documented(tmp_path):
    words, vectors = small_table()
    path = tmp_path / "small.vec"
    write_word2vec(path, words, vectors)
    enc = StaticEncoder.load(str(path))
    v = enc.table.vectors
    out, sources = enc.encode_with_sources(["教师", "医生老师", "老生", "𠀀𠀁"])
    assert sources == ["table", "segments", "characters", "none"]
    np.testing.assert_allclose(out[0], v[7])
    # 医生 is a table word (a whole segment); 老师 is not: the mean of its characters.
    np.testing.assert_allclose(out[1], unit((v[1] + (v[5] + v[6]) / 2) / 2), atol=1e-5)
    np.testing.assert_allclose(out[2], unit((v[5] + v[4]) / 2), atol=1e-5)
    assert not out[3].any()
    np.testing.assert_allclose(np.linalg.norm(out[:3], axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(enc.encode(["教师"])[0], enc.encode_one("教师"))


def test_collections_table_default_first_and_validated():
    s = load_settings(environ={})
    assert s.served_collections == [("words", "bert"), ("words_semantic", "word2vec")]
    s = load_settings(
        environ={"WORDSIM_COLLECTIONS": "words:albert, mine:word2vec", "WORDSIM_COLLECTION": "words"}
    )
    assert s.served_collections == [("words", "bert"), ("mine", "word2vec")]
    assert load_settings(environ={"WORDSIM_COLLECTIONS": ""}).served_collections == [("words", "bert")]
    with pytest.raises(ValueError, match="kind"):
        load_settings(environ={"WORDSIM_COLLECTIONS": "x:glove"})
    with pytest.raises(ValueError, match="twice"):
        load_settings(environ={"WORDSIM_COLLECTIONS": "x:word2vec,x:word2vec"})
    with pytest.raises(ValueError, match="not a valid Milvus name"):
        load_settings(environ={"WORDSIM_COLLECTIONS": "bad-name:word2vec"})
