"""Threshold, filters, extra fields and batches over real HTTP on both backends, each checked
against an exact numpy search over the same subset with jieba's own frequency and tags."""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

KEY = "相似度计算的结果为："
TIE = 1e-5


def ask(server, **data) -> list[dict]:
    resp = httpx.post(server.url + "/vector_similarity", json=data, timeout=60)
    assert resp.status_code == 200, resp.text
    return list(resp.json()[KEY].values())


@pytest.fixture(scope="module")
def exact(encoder, subset_words, subset_vectors):
    """Exact scores of every subset word against a query word."""

    def scores(word: str) -> np.ndarray:
        return subset_vectors @ encoder.encode_one(word)

    return scores


def check_top(hits, scores, allowed, k, words):
    """``hits`` are the ``k`` best of the ``allowed`` words (ties either way)."""
    by_id = {w.id: i for i, w in enumerate(words)}
    candidates = np.sort(scores[allowed])[::-1]
    kth = candidates[min(k, len(candidates)) - 1]
    assert len(hits) == min(k, len(candidates))
    for hit in hits:
        i = by_id[hit["id"]]
        assert allowed[i], hit
        assert scores[i] >= kth - TIE and abs(scores[i] - hit["distance"]) <= 1e-4


@pytest.mark.parametrize("word", ["教师", "中国", "任课教师"])
def test_threshold_returns_everything_at_or_above_it_and_nothing_below(
    http_server, exact, subset_words, word
):
    scores = exact(word)
    threshold = float(np.sort(scores)[::-1][6])  # about 7 words at or above it
    hits = ask(http_server, usr_input=word, min_score=threshold)
    got = {h["id"] for h in hits}
    ids = np.array([w.id for w in subset_words])
    assert set(ids[scores >= threshold + TIE]) <= got <= set(ids[scores >= threshold - TIE])
    assert all(h["distance"] >= threshold for h in hits)


def test_threshold_and_top_k_together(http_server, exact):
    hits = ask(http_server, usr_input="教师", min_score=0.5, top_k=4)
    assert len(hits) == 4 and all(h["distance"] >= 0.5 for h in hits)
    assert ask(http_server, usr_input="教师", min_score=1.5) == []  # nothing is that close


@pytest.mark.parametrize(
    ("params", "allowed_of"),
    [
        ({"pos": "n,v"}, lambda w: w.pos in ("n", "v")),
        ({"pos": ["nr"]}, lambda w: w.pos == "nr"),
        ({"min_freq": 1000}, lambda w: w.freq >= 1000),
        ({"pos": "a", "min_freq": 50}, lambda w: w.pos == "a" and w.freq >= 50),
    ],
    ids=["pos_n_v", "pos_nr", "min_freq", "pos_and_freq"],
)
def test_filters_equal_exact_search_over_the_words_that_pass(
    http_server, exact, subset_words, params, allowed_of
):
    allowed = np.array([allowed_of(w) for w in subset_words])
    for word in ("教师", "中国"):
        hits = ask(http_server, usr_input=word, top_k=10, fields="freq,pos", **params)
        check_top(hits, exact(word), allowed, 10, subset_words)
        by_id = {w.id: w for w in subset_words}
        assert all(
            (h["fields"]["freq"], h["fields"]["pos"]) == (by_id[h["id"]].freq, by_id[h["id"]].pos)
            for h in hits
        )


@pytest.mark.parametrize("flag", ["exclude_self", "exclude_overlap"])
def test_service_side_filters_still_fill_top_k(http_server, exact, subset_words, flag):
    word = "教师"
    if flag == "exclude_self":
        allowed = np.array([w.text != word for w in subset_words])
    else:
        allowed = np.array([word not in w.text and w.text not in word for w in subset_words])
    hits = ask(http_server, usr_input=word, top_k=10, **{flag: True})
    check_top(hits, exact(word), allowed, 10, subset_words)


def test_default_answer_has_no_extra_fields(http_server):
    assert set(ask(http_server, usr_input="教师")[0]["fields"]) == {"id", "text"}


def test_batch_answers_each_word_and_errors_stay_in_their_slot(http_server):
    words = ["教师", "", "教学", "\ud800", 7, "中国"]
    body = json.dumps({"usr_input": words, "top_k": 2}).encode()
    resp = httpx.post(
        http_server.url + "/vector_similarity",
        content=body,
        headers={"content-type": "application/json"},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    answers = resp.json()
    assert len(answers) == len(words)
    for word, got in zip(words, answers, strict=True):
        if word in ("教师", "教学", "中国"):
            assert got == {
                KEY: {f"结果{i + 1}": h for i, h in enumerate(ask(http_server, usr_input=word, top_k=2))}
            }
        else:
            assert got["ok"] is False and got["status"] == 400 and got["error"]


def test_batch_bounds(http_server):
    for words in ([], ["教师"] * 65):
        resp = httpx.post(http_server.url + "/vector_similarity", json={"usr_input": words}, timeout=60)
        assert resp.status_code == 400 and "1 to 64 words" in resp.json()["error"]
