"""A small fused collection (real sentence encoder, real synonyms table, character part)
served beside the default one on Milvus Lite: /compare returns the distance the search
returns, any text gets a vector, POST /words adds a word to every collection."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from support import RunningServer, run_ingest_process, serving
from wordsim.ingest.wordlist import jieba_dict_path, read_words
from wordsim.model.kinds import open_encoder
from wordsim.settings import load_settings

KEY = "相似度计算的结果为："
LINES = 349046
FUSED_IDS = [(0, 3000), (LINES, LINES + 2000)]
"""jieba's first 3,000 lines and the table's first 2,000 words after them."""


@pytest.fixture(scope="module")
def fused_server(lite_env, tmp_path_factory) -> Iterator[RunningServer]:
    env = {
        **lite_env,
        "WORDSIM_MILVUS_URI": str(tmp_path_factory.mktemp("lite_fused") / "fused.db"),
        "WORDSIM_COLLECTIONS": "fused:fused",
        "WORDSIM_API_KEY": "k",
    }
    done = run_ingest_process(env, "--limit=3000")
    assert done.returncode == 0, done.stderr[-3000:]
    ranges = [f"--id-range={a}:{b}" for a, b in FUSED_IDS]
    done = run_ingest_process(env, "--collection=fused", *ranges)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "vocabulary vocab-clean-1:" in done.stderr
    with serving(env, tmp_path_factory.mktemp("fused_log") / "server.log") as server:
        yield server


@pytest.fixture(scope="module")
def fused():
    return open_encoder(load_settings(environ={}), "fused", threads=1)


def post(server, path: str, **kw) -> httpx.Response:
    return httpx.post(server.url + path, timeout=60, headers={"X-API-Key": "k"}, **kw)


def test_ids_are_line_numbers_then_after_the_dictionary(fused_server):
    assert read_words(jieba_dict_path()).lines == LINES
    hits = post(fused_server, "/vector_similarity", data={"usr_input": "一下", "collection": "fused"}).json()[
        KEY
    ]
    first = hits["结果1"]
    assert first["fields"]["text"] == "一下"
    assert first["id"] == next(
        w.id for w in read_words(jieba_dict_path(), limit=3000).words if w.text == "一下"
    )
    health = httpx.get(fused_server.url + "/health", timeout=30).json()
    row = next(c for c in health["collections"] if c["name"] == "fused")
    assert row["kind"] == "fused" and row["model"].startswith("fused(")


@pytest.mark.parametrize("text", ["一下", "人工智能专家", "𠀀𠀁", "iPhone"])
def test_compare_returns_the_search_distance(fused_server, fused, text):
    hits = post(
        fused_server, "/vector_similarity", data={"usr_input": text, "collection": "fused", "top_k": 3}
    ).json()[KEY]
    assert len(hits) == 3  # every text gets a vector
    for hit in hits.values():
        pair = post(
            fused_server, "/compare", data={"a": text, "b": hit["fields"]["text"], "collection": "fused"}
        ).json()
        assert pair["distance"] == pytest.approx(hit["distance"], abs=1e-6)
    va, vb = fused.encode([text, hits["结果1"]["fields"]["text"]])
    assert hits["结果1"]["distance"] == pytest.approx(float(va @ vb), abs=1e-5)
    assert np.linalg.norm(va) == pytest.approx(1.0, abs=1e-6)


def test_added_word_reaches_every_collection(fused_server):
    headers = {"X-API-Key": "k"}
    added = post(fused_server, "/words", json={"words": ["元宇宙"]}).json()["words"][0]
    assert added["added"]
    for collection in ("words", "fused"):
        hits = post(
            fused_server,
            "/vector_similarity",
            data={"usr_input": "元宇宙", "collection": collection, "top_k": 1},
        ).json()[KEY]
        assert hits["结果1"]["fields"]["text"] == "元宇宙", collection
    gone = httpx.delete(f"{fused_server.url}/words/{added['id']}", headers=headers, timeout=30)
    assert gone.status_code == 200
    hits = post(
        fused_server,
        "/vector_similarity",
        data={"usr_input": "元宇宙", "collection": "fused", "top_k": 1},
    ).json()[KEY]
    assert hits["结果1"]["fields"]["text"] != "元宇宙"
