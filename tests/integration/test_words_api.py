"""Word management on both backends, through real servers: refused without a configured
key (403) and with a wrong one (401); add -> a query finds it -> restart and resumed
ingest -> still there -> delete -> gone; idempotent by text; added ids after the source's;
a rebuild says how many added words it removes. The id scheme, with fakes, is in
tests/unit/test_added_words.py."""

from __future__ import annotations

import httpx
import pytest

from support import run_ingest_process, start_server, stop_server
from wordsim.settings import load_settings
from wordsim.store.added_words import candidate_id
from wordsim.store.collection import WordStore
from wordsim.store.schema import ADDED_ID_OFFSET

KEY = "words-test-key"
LIMIT = 600  # source lines loaded: ids 0..599
NEW, SOURCE_WORD = "元宇宙打工人", "一"  # 一 is line 72 of jieba's dict.txt


@pytest.fixture(params=["lite", "server"])
def words_env(request, tmp_path):
    """A small collection of its own, so the words added here touch no other test."""
    if request.param == "server":
        request.applymarker(pytest.mark.milvus_server)
        env = {**request.getfixturevalue("server_env"), "WORDSIM_COLLECTION": f"words_api_{tmp_path.name}"}
    else:
        env = {**request.getfixturevalue("lite_env"), "WORDSIM_MILVUS_URI": str(tmp_path / "words.db")}
    done = run_ingest_process(env, f"--limit={LIMIT}")
    assert done.returncode == 0, done.stderr[-2000:]
    return env


def post_words(server, words, key: str | None = KEY) -> httpx.Response:
    headers = {"X-API-Key": key} if key else {}
    return httpx.post(server.url + "/words", json={"words": words}, headers=headers, timeout=60)


def delete_word(server, word_id: int, key: str | None = KEY) -> httpx.Response:
    headers = {"X-API-Key": key} if key else {}
    return httpx.delete(f"{server.url}/words/{word_id}", headers=headers, timeout=60)


def top1(server, text: str) -> dict:
    resp = httpx.post(
        server.url + "/vector_similarity", data={"usr_input": text}, headers={"X-API-Key": KEY}, timeout=60
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["相似度计算的结果为："]["结果1"]


def generation(env) -> tuple:
    settings = load_settings(environ=env)
    store = WordStore.open(settings)
    try:
        return store.generation()
    finally:
        store.close()


def test_add_query_restart_ingest_delete(words_env, tmp_path):
    # No key configured: word management is refused outright.
    server = start_server(words_env, tmp_path / "nokey.log")
    try:
        for resp in (post_words(server, [NEW], key=None), delete_word(server, ADDED_ID_OFFSET, key=None)):
            assert resp.status_code == 403, resp.text
            assert resp.json()["error"] == "word management is disabled: set WORDSIM_API_KEY to enable it"
    finally:
        stop_server(server)
    before = generation(words_env)

    env = {**words_env, "WORDSIM_API_KEY": KEY}
    server = start_server(env, tmp_path / "server1.log")
    try:
        assert post_words(server, [NEW], key="wrong").status_code == 401
        assert delete_word(server, ADDED_ID_OFFSET, key="wrong").status_code == 401
        assert top1(server, NEW)["fields"]["text"] != NEW  # cached now: the add must empty the cache
        resp = post_words(server, [NEW, SOURCE_WORD, f" {NEW} "])
        assert resp.status_code == 200, resp.text
        new_id = candidate_id(NEW)
        assert resp.json() == {
            "words": [
                {"id": new_id, "text": NEW, "added": True},
                {"id": 72, "text": SOURCE_WORD, "added": False},  # the source's word, its line number
                {"id": new_id, "text": NEW, "added": True},  # normalised: the same word
            ]
        }
        assert new_id >= ADDED_ID_OFFSET > LIMIT
        hit = top1(server, NEW)
        assert (hit["id"], hit["fields"]["text"]) == (new_id, NEW) and hit["distance"] > 0.9999
        again = post_words(server, [NEW]).json()  # idempotent by text
        assert again == {"words": [{"id": new_id, "text": NEW, "added": False}]}
        assert delete_word(server, 72).status_code == 409  # the source's words stay
        assert delete_word(server, new_id + 1).status_code == 404
    finally:
        stop_server(server)
    assert generation(words_env)[-1] != before[-1]  # every worker's watch loop sees the change

    # A resumed ingest keeps the added word and counts only the source's words.
    done = run_ingest_process(words_env, f"--limit={LIMIT}")
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert f"{LIMIT} rows (+1 added through the API), source: {LIMIT} words -> OK" in done.stdout

    server = start_server(env, tmp_path / "server2.log")
    try:
        assert top1(server, NEW)["id"] == new_id  # survived the restart and the ingest
        resp = delete_word(server, new_id)
        assert resp.status_code == 200 and resp.json() == {"deleted": {"id": new_id, "text": NEW}}
        assert top1(server, NEW)["id"] != new_id  # gone, not served from the cache
        assert delete_word(server, new_id).status_code == 404
        assert post_words(server, ["再加一个新词"]).status_code == 200
    finally:
        stop_server(server)

    # A rebuild drops the added words and says how many.
    done = run_ingest_process(words_env, f"--limit={LIMIT}", "--drop")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "words added through the API removed with it: 1" in done.stderr
    assert f"{LIMIT} rows, source: {LIMIT} words -> OK" in done.stdout


def test_bad_word_lists_are_refused(lite_env, tmp_path):
    env = {**lite_env, "WORDSIM_MILVUS_URI": str(tmp_path / "bad.db"), "WORDSIM_API_KEY": KEY}
    assert run_ingest_process(env, "--limit=50").returncode == 0
    server = start_server(env, tmp_path / "server.log")
    try:
        for body in [{"words": []}, {"words": "新词"}, {"words": [1]}, {"words": ["\u0000"]}, ["新词"],
                     {"words": ["新词"] * 65}, {"words": ["字" * 65]}]:  # fmt: skip
            resp = httpx.post(server.url + "/words", json=body, headers={"X-API-Key": KEY}, timeout=30)
            assert resp.status_code == 400, (body, resp.text)
        resp = httpx.post(server.url + "/words", content=b"{", headers={"X-API-Key": KEY}, timeout=30)
        assert resp.status_code == 400
    finally:
        stop_server(server)
