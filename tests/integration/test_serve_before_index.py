"""``--serve-before-index`` (what ``make run`` does): the ingest loads the collection as soon
as its index is asked for, the service answers at once, and /health follows the index until
Milvus has built it; the answers are the same before and after (exhaustive search is exact)."""

from __future__ import annotations

import time

import httpx
import pytest

from support import run_ingest_process, start_server, stop_server

pytestmark = pytest.mark.milvus_server

INDEX_TIMEOUT_S = 300


def ask(url: str, word: str) -> dict:
    r = httpx.post(url + "/vector_similarity", data={"usr_input": word}, timeout=60)
    assert r.status_code == 200, r.text
    return r.json()["相似度计算的结果为："]


def test_answers_before_the_index_is_built_and_health_follows_it(server_env, tmp_path):
    env = {**server_env, "WORDSIM_COLLECTION": "words_early"}
    done = run_ingest_process(env, "--serve-before-index")
    assert done.returncode == 0, done.stderr[-3000:]
    log = done.stdout + done.stderr
    assert "before its index is built" in log, log[-3000:]
    assert "index of words_early" not in log or " built in " not in log  # it did not wait
    server = start_server(env, tmp_path / "server.log")
    try:
        assert ask(server.url, "教师")["结果1"]["id"] == 161872  # 教师's line in dict.txt
        index = httpx.get(server.url + "/health", timeout=30).json()["index"]
        assert index["type"] == "HNSW" and index["state"] in ("building", "built"), index
        deadline = time.monotonic() + INDEX_TIMEOUT_S
        while index["state"] != "built":
            assert time.monotonic() < deadline, index
            time.sleep(1)
            index = httpx.get(server.url + "/health", timeout=30).json()["index"]
        assert index["indexed_rows"] == index["rows"] > 0
        assert ask(server.url, "教员")["结果1"]["fields"]["text"] == "教员"  # searched through the index now
    finally:
        stop_server(server)
    assert "index of words_early" in server.log() and "serves all" in server.log(), server.log()
