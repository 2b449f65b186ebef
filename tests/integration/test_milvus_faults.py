"""Against the local Milvus server: Milvus stopped under a running service answers 503 and
recovers by itself; the API key; the answer cache follows collection changes."""

from __future__ import annotations

import time

import httpx
import numpy as np
import pytest

from config import load_settings
from support import ID_JIAOSHI, base_env, run_ingest_process, start_server, stop_server
from wordsim.netutil import free_port
from wordsim.store.bulk_load import WordLoader

pytestmark = pytest.mark.milvus_server
KEY = "s3cret-key"
HEADERS = {"X-API-Key": KEY}


@pytest.fixture(scope="module")
def milvus(tmp_path_factory):
    from wordsim.local_milvus.launcher import LocalMilvus

    server = LocalMilvus(port=free_port(), data_dir=tmp_path_factory.mktemp("faults_milvus"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def env(milvus, empty_model_dir):
    env = base_env(
        WORDSIM_MILVUS_URI=milvus.uri,
        WORDSIM_MODEL_DIR=str(empty_model_dir),
        WORDSIM_COLLECTION="faults",
        WORDSIM_API_KEY=KEY,
        WORDSIM_CACHE_CHECK_INTERVAL_S="0.5",
        WORDSIM_MILVUS_TIMEOUT_S="3",
    )
    done = run_ingest_process(env)
    assert done.returncode == 0, done.stderr[-2000:]
    return env


@pytest.fixture(scope="module")
def server(env, tmp_path_factory):
    srv = start_server(env, tmp_path_factory.mktemp("faults_log") / "server.log")
    yield srv
    stop_server(srv)


def ask(server, word: str, headers=HEADERS, **params) -> httpx.Response:
    return httpx.post(
        server.url + "/vector_similarity", data={"usr_input": word, **params}, headers=headers, timeout=60
    )


def test_api_key_required_except_health(server):
    for headers in ({}, {"X-API-Key": "wrong"}):
        resp = ask(server, "教师", headers=headers)
        assert resp.status_code == 401
        assert resp.json() == {"ok": False, "error": resp.json()["error"], "status": 401}
    assert httpx.get(server.url + "/docs/openapi.json").status_code == 401
    assert ask(server, "教师").status_code == 200
    for path in ("/health", "/livez", "/readyz"):  # for orchestrators: no key
        assert httpx.get(server.url + path).status_code == 200


def test_cache_is_emptied_when_the_collection_changes(server, env, encoder):
    first = ask(server, "教师").json()["相似度计算的结果为："]
    assert first["结果1"]["id"] == ID_JIAOSHI
    store = WordLoader.open(load_settings(environ=env))
    try:
        vec = encoder.encode_one("教师")
        store.write([{"id": 900_000_001, "text": "新教师", "freq": 0, "pos": "", "vector": vec}], upsert=True)
        store.flush()
    finally:
        store.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ids = [h["id"] for h in ask(server, "教师").json()["相似度计算的结果为："].values()]
        if 900_000_001 in ids:
            break
        time.sleep(0.5)
    assert 900_000_001 in ids


def test_milvus_down_gives_503_and_recovers_without_restart(server, milvus):
    assert ask(server, "学生").status_code == 200
    milvus.stop()
    try:
        t0 = time.monotonic()
        resp = ask(server, "老师们")  # not cached
        assert resp.status_code == 503, resp.text
        body = resp.json()
        assert body["ok"] is False and body["status"] == 503 and "unavailable" in body["error"]
        assert time.monotonic() - t0 < 20
        health = httpx.get(server.url + "/health", timeout=60)
        assert health.status_code == 503 and health.json()["ok"] is False
        ready = httpx.get(server.url + "/readyz", timeout=60)
        assert ready.status_code == 503 and ready.json()["checks"]["milvus"] is False
        assert httpx.get(server.url + "/livez", timeout=60).status_code == 200
    finally:
        milvus.start()
    deadline = time.monotonic() + 90
    status = None
    while time.monotonic() < deadline:
        status = ask(server, "老师们").status_code
        if status == 200:
            break
        time.sleep(1)
    assert status == 200
    assert httpx.get(server.url + "/health", timeout=60).json()["ok"] is True
    deadline = time.monotonic() + 60  # ready again once the watch loop has reloaded the collection
    while httpx.get(server.url + "/readyz", timeout=60).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert httpx.get(server.url + "/readyz", timeout=60).status_code == 200
    assert server.proc.poll() is None  # the same process, never restarted
    assert np.isfinite(ask(server, "教师").json()["相似度计算的结果为："]["结果1"]["distance"])
