"""Two collections from one real server (Milvus Lite): the default one (stand-in model,
jieba subset) and a word2vec one from a small binary file the test writes. /compare,
the collection parameter, calibrated scores, the fallback flag, /health's list."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pytest
from test_answer_pinned import PINNED

from support import ID_JIAOSHI, RunningServer, run_ingest_process, serving
from wordsim.model.static import StaticEncoder
from wordsim.model.word2vec import write_word2vec
from wordsim.service.lifecycle import open_collection
from wordsim.store.connection import ModelMismatchError

KEY = "相似度计算的结果为："
TABLE = ["</s>", "医生", "护士", "医院", "教师", "学生", "学校", "汽车", "卡车", "快乐", "幸福", "学", "医"]
TABLE += [f"词{i}" for i in range(200)]
KEPT = [i for i, w in enumerate(TABLE) if w != "</s>"]
"""Ids of the rows stored: the markup token ``</s>`` is left out (wordsim/ingest/vocabulary.py)."""


@pytest.fixture(scope="module")
def table_path(tmp_path_factory):
    rng = np.random.default_rng(5)
    path = tmp_path_factory.mktemp("w2v") / "small.vector"
    write_word2vec(path, TABLE, rng.normal(size=(len(TABLE), 16)).astype(np.float32), binary=True)
    return path


@pytest.fixture(scope="module")
def static(table_path) -> StaticEncoder:
    return StaticEncoder.load(str(table_path))


@pytest.fixture(scope="module")
def two_collections(lite_env, table_path, tmp_path_factory) -> Iterator[RunningServer]:
    env = {
        **lite_env,
        "WORDSIM_MILVUS_URI": str(tmp_path_factory.mktemp("lite_two") / "two.db"),
        "WORDSIM_COLLECTIONS": "semantic:word2vec",
        "WORDSIM_WORD2VEC_PATH": str(table_path),
    }
    done = run_ingest_process(env, "--all-collections")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "collection semantic (semantic_v1): 212 rows" in done.stdout  # 213 less </s>
    assert "vocabulary vocab-clean-1: 212 words kept, left out: 1 markup" in done.stderr
    with serving(env, tmp_path_factory.mktemp("two_log") / "server.log") as server:
        yield server


def post(server, path: str, **kw) -> httpx.Response:
    return httpx.post(server.url + path, timeout=30, **kw)


def test_default_answer_is_byte_identical_with_other_collections_served(two_collections):
    for params, body in PINNED["lite"]:
        assert post(two_collections, "/vector_similarity", data=params).content.decode() == body
        same = post(two_collections, "/vector_similarity", data={**params, "collection": "words"})
        assert same.content.decode() == body


def test_semantic_collection_answers_from_the_table(two_collections, static):
    resp = post(
        two_collections,
        "/vector_similarity",
        data={"usr_input": "医生", "collection": "semantic", "top_k": 4},
    )
    body = resp.json()
    assert list(body) == [KEY, "vector_source"] and body["vector_source"] == "table"
    hits = list(body[KEY].values())
    scores = np.full(len(TABLE), -np.inf)
    scores[KEPT] = static.table.vectors[KEPT] @ static.encode_one("医生")
    expected = [int(i) for i in np.argsort(-scores, kind="stable")[:4]]
    assert [h["id"] for h in hits] == expected  # id = position in the vector file
    assert hits[0]["fields"]["text"] == "医生"
    np.testing.assert_allclose([h["distance"] for h in hits], scores[expected], atol=1e-5)


def test_fallback_is_flagged(two_collections):
    for text, source in [("医生护士", "segments"), ("学医", "characters"), ("𠀀", "none")]:
        body = post(
            two_collections, "/vector_similarity", data={"usr_input": text, "collection": "semantic"}
        ).json()
        assert body["vector_source"] == source, text
    assert body[KEY] == {}  # nothing is similar to a text nothing is known of


def test_unknown_collection_is_refused_everywhere(two_collections):
    for path, data in [
        ("/vector_similarity", {"usr_input": "教师"}),
        ("/compare", {"a": "教师", "b": "学生"}),
    ]:
        resp = post(two_collections, path, data={**data, "collection": "nope"})
        assert resp.status_code == 400
        assert resp.json()["error"] == "unknown collection 'nope'; this service has: words, semantic"


def test_compare_equals_numpy(two_collections, encoder, static):
    a, b = "教师", "学生"
    default = post(two_collections, "/compare", data={"a": a, "b": b}).json()
    va, vb = encoder.encode([a, b])
    assert default["a"] == a and default["b"] == b
    assert default["distance"] == pytest.approx(float(va @ vb), abs=1e-5)
    got = httpx.get(
        two_collections.url + "/compare", params={"a": "ｅｘ医生", "b": b, "collection": "semantic"}
    )
    body = got.json()
    assert body["a"] == "ex医生"  # NFKC, as usr_input
    sa, sb = static.encode(["ex医生", b])
    assert body["distance"] == pytest.approx(float(sa @ sb), abs=1e-6)
    assert body["vector_source"] == {"a": "segments", "b": "table"}


def test_compare_many_pairs_in_order(two_collections, encoder):
    pairs = [["教师", "学生"], ["汽车", "卡车"], ["教师", "教师"]]
    resp = post(two_collections, "/compare", json={"pairs": pairs})
    results = resp.json()["results"]
    assert [[r["a"], r["b"]] for r in results] == pairs
    vectors = {t: encoder.encode_one(t) for t in ("教师", "学生", "汽车", "卡车")}
    for r in results:
        assert r["distance"] == pytest.approx(float(vectors[r["a"]] @ vectors[r["b"]]), abs=1e-5)
    too_many = post(two_collections, "/compare", json={"pairs": [["a", "b"]] * 65})
    assert too_many.status_code == 400 and "at most 64" in too_many.json()["error"]
    raw = b'{"pairs": [["a", "\\ud800"]]}'  # JSON may carry a lone surrogate
    bad = post(two_collections, "/compare", content=raw, headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and "U+D800" in bad.json()["error"]


def test_calibrated_scores_keep_distance_and_ranking(two_collections):
    plain = post(two_collections, "/vector_similarity", data={"usr_input": "教师", "top_k": 5}).json()[KEY]
    scored = post(
        two_collections, "/vector_similarity", data={"usr_input": "教师", "top_k": 5, "score": "calibrated"}
    ).json()[KEY]
    assert [h["id"] for h in scored.values()] == [h["id"] for h in plain.values()]
    assert [h["distance"] for h in scored.values()] == [h["distance"] for h in plain.values()]
    assert list(scored["结果1"]) == ["id", "distance", "score", "fields"]
    assert scored["结果1"]["id"] == ID_JIAOSHI and scored["结果1"]["score"] == pytest.approx(1.0, abs=1e-5)
    assert all(h["score"] < h["distance"] for h in list(scored.values())[1:])  # stand-in: raw scores all high
    bad = post(two_collections, "/vector_similarity", data={"usr_input": "教师", "score": "pretty"})
    assert bad.status_code == 400
    pair = post(two_collections, "/compare", data={"a": "教师", "b": "教师", "score": "calibrated"}).json()
    assert pair["score"] == pytest.approx(1.0, abs=1e-5)


def test_health_lists_collections_default_first(two_collections, static):
    body = httpx.get(two_collections.url + "/health", timeout=30).json()
    assert [c["name"] for c in body["collections"]] == ["words", "semantic"]
    assert body["collections"][0]["model"] == body["model"] and body["collections"][0]["rows"] == body["rows"]
    assert body["collections"][0]["index"] == body["index"]
    assert body["collections"][1] == {
        "name": "semantic",
        "kind": "word2vec",
        "model": static.fingerprint,
        "rows": 212,
        "index": {"type": "HNSW", "state": "built", "indexed_rows": 212, "rows": 212},
    }


def test_a_collection_built_with_another_table_is_refused(lite_env, table_path, tmp_path, settings):
    env = {
        **lite_env,
        "WORDSIM_MILVUS_URI": str(tmp_path / "other.db"),
        "WORDSIM_COLLECTIONS": "semantic:word2vec",
        "WORDSIM_WORD2VEC_PATH": str(table_path),
    }
    assert run_ingest_process(env, "--collection=semantic", "--limit=50").returncode == 0
    other = tmp_path / "other.vector"
    write_word2vec(other, TABLE[:50], np.ones((50, 16), dtype=np.float32))
    mine = settings.replace(milvus_uri=str(tmp_path / "other.db"), word2vec_path=str(other))
    with pytest.raises(ModelMismatchError, match=r"was built with model word2vec:small\.vector"):
        open_collection(mine, "semantic", "word2vec")


def test_make_runs_ingest_rebuilds_a_collection_built_with_another_table(lite_env, table_path, tmp_path):
    env = {
        **lite_env,
        "WORDSIM_MILVUS_URI": str(tmp_path / "changed.db"),
        "WORDSIM_COLLECTIONS": "semantic:word2vec",
        "WORDSIM_WORD2VEC_PATH": str(table_path),
    }
    assert run_ingest_process(env, "--collection=semantic", "--limit=50").returncode == 0
    other = tmp_path / "other.vector"  # a new release of the table: another fingerprint
    write_word2vec(other, TABLE[:60], np.ones((60, 16), dtype=np.float32))
    env["WORDSIM_WORD2VEC_PATH"] = str(other)
    plain = run_ingest_process(env, "--collection=semantic")
    assert plain.returncode == 2 and "was built with model" in plain.stderr  # refused, not mixed
    changed = run_ingest_process(env, "--collection=semantic", "--rebuild-if-changed")
    assert changed.returncode == 0, changed.stderr[-2000:]
    assert (
        "rebuilding it" in changed.stderr and "semantic now serves collection semantic_v2" in changed.stderr
    )
    again = run_ingest_process(env, "--collection=semantic", "--rebuild-if-changed")
    assert again.returncode == 0 and "rebuilding" not in again.stderr, again.stderr[-2000:]
