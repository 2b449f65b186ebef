"""The HTTP API against real servers on both local backends (Milvus Lite, local Milvus server)."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

from support import ID_JIAOSHI, ID_JIAOXUE, ID_RENKE

KEY = "相似度计算的结果为："


def ask(server, **kw) -> httpx.Response:
    method = kw.pop("method", "POST")
    return httpx.request(method, server.url + "/vector_similarity", timeout=30, **kw)


def hits_of(resp: httpx.Response) -> list[dict]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    body = resp.json()
    assert list(body) == [KEY]
    results = body[KEY]
    assert list(results) == [f"结果{i}" for i in range(1, len(results) + 1)]
    return list(results.values())


def test_jiaoshi_top1_in_original_shape(http_server):
    resp = ask(http_server, data={"usr_input": "教师"})
    hits = hits_of(resp)
    assert len(hits) == 3
    top = hits[0]
    assert set(top) == {"id", "distance", "fields"} and set(top["fields"]) == {"id", "text"}
    assert top["id"] == top["fields"]["id"] == ID_JIAOSHI and top["fields"]["text"] == "教师"
    assert top["distance"] >= 0.9999
    assert [h["distance"] for h in hits] == sorted((h["distance"] for h in hits), reverse=True)
    assert "教师".encode() in resp.content  # Chinese is not \u-escaped


def test_known_neighbours_present_in_collection(http_server):
    for word, wid in [("教学", ID_JIAOXUE), ("任课教师", ID_RENKE)]:
        assert hits_of(ask(http_server, data={"usr_input": word}))[0]["id"] == wid


def exact_top(vectors: np.ndarray, query: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    scores = vectors @ query
    order = np.argsort(-scores, kind="stable")
    return scores, float(scores[order[k - 1]])


@pytest.mark.parametrize("word", ["教师", "任课教师", "中国", "䶮", "学生", "跃马", "自然语言处理"])
def test_answers_equal_exact_numpy_search_tie_aware(http_server, encoder, subset_words, subset_vectors, word):
    k = 10
    hits = hits_of(ask(http_server, data={"usr_input": word, "top_k": str(k)}))
    scores, kth = exact_top(subset_vectors, encoder.encode_one(word), k)
    by_id = {w.id: i for i, w in enumerate(subset_words)}
    assert len(hits) == k
    for hit in hits:
        i = by_id[hit["id"]]
        assert subset_words[i].text == hit["fields"]["text"]
        assert abs(scores[i] - hit["distance"]) <= 1e-4
        # Any id scoring at least the exact k-th best (ties included) is a right answer.
        assert scores[i] >= kth - 1e-5


def test_every_input_form_gives_the_same_answer(http_server):
    url = http_server.url + "/vector_similarity"
    forms = {
        "urlencoded": httpx.post(url, data={"usr_input": "教师"}),
        "multipart": httpx.post(url, files={"usr_input": (None, "教师")}),
        "json": httpx.post(url, json={"usr_input": "教师"}),
        "query_post": httpx.post(url, params={"usr_input": "教师"}),
        "query_get": httpx.get(url, params={"usr_input": "教师"}),
        "nfkc_padded": httpx.post(url, data={"usr_input": "  教师\u3000"}),
    }
    answers = {name: hits_of(r) for name, r in forms.items()}
    first = answers["urlencoded"]
    for name, hits in answers.items():
        assert hits == first, name


@pytest.mark.parametrize(
    "kwargs",
    [
        {"data": {}},
        {"data": {"usr_input": ""}},
        {"data": {"usr_input": "   "}},
        {"data": {"usr_input": "教" * 65}},
        {"data": {"usr_input": "教师", "top_k": "0"}},
        {"data": {"usr_input": "教师", "top_k": "101"}},
        {"data": {"usr_input": "教师", "top_k": "-1"}},
        {"data": {"usr_input": "教师", "top_k": "abc"}},
        {"data": {"usr_input": "教师", "top_k": "1e9"}},
        {"json": {"usr_input": "教师", "top_k": [1]}},
        {"json": {"usr_input": "教师", "top_k": True}},
        {"json": {"usr_input": 5}},
        {"json": ["教师"]},
        {"content": b"{not json", "headers": {"content-type": "application/json"}},
        {"data": {"usr_input": ["教师", "教学"]}},
        {"data": {"usr_input": "教\x00师"}},
    ],
)
def test_bad_input_gets_400_json(http_server, kwargs):
    resp = ask(http_server, **kwargs)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["ok"] is False and body["status"] == 400 and body["error"]


def test_health_reports_model_collection_rows(http_server, subset_words, model):
    body = httpx.get(http_server.url + "/health", timeout=30).json()
    assert body["ok"] is True
    assert body["model"] == model.fingerprint and body["standin"] is True
    assert body["collection"] == "words"
    assert body["rows"] == len(subset_words) == body["source_rows"]


def test_livez_and_readyz(http_server):
    assert httpx.get(http_server.url + "/livez", timeout=30).json() == {"ok": True}
    ready = httpx.get(http_server.url + "/readyz", timeout=30)
    assert ready.status_code == 200 and all(ready.json()["checks"].values())


def test_unknown_route_and_method_are_json(http_server):
    r = httpx.get(http_server.url + "/nope")
    assert r.status_code == 404 and r.json()["status"] == 404
    r = httpx.put(http_server.url + "/vector_similarity")
    assert r.status_code == 405 and r.json()["status"] == 405
    assert json.loads(r.text)["ok"] is False


def test_concurrent_queries_are_each_answered_right(http_server, encoder, subset_words, subset_vectors):
    """Concurrent requests are batched into one encode and one search; each must still
    get its own exact answer."""
    import asyncio

    words = [w.text for w in subset_words[5:400:13]]
    top_ks = [1 + i % 7 for i in range(len(words))]

    async def fire():
        async with httpx.AsyncClient(timeout=60) as client:
            return await asyncio.gather(
                *(
                    client.post(
                        http_server.url + "/vector_similarity", data={"usr_input": w, "top_k": str(k)}
                    )
                    for w, k in zip(words, top_ks, strict=True)
                )
            )

    responses = asyncio.run(fire())
    by_id = {w.id: i for i, w in enumerate(subset_words)}
    queries = encoder.encode(words)
    for word, k, resp, q in zip(words, top_ks, responses, queries, strict=True):
        hits = hits_of(resp)
        assert len(hits) == k, word
        scores, kth = exact_top(subset_vectors, q, k)
        for hit in hits:
            assert scores[by_id[hit["id"]]] >= kth - 1e-5, (word, hit)
