"""--rebuild without downtime: the service keeps answering from the current collection while
the new version loads, then reads the new one after the alias switch; the old is dropped."""

from __future__ import annotations

import threading

import httpx
import pytest
from pymilvus import MilvusClient

from support import SUBSET_RANGES, base_env, run_ingest_process, start_server, stop_server

pytestmark = pytest.mark.milvus_server
EXTRA = "--id-range=200000:200500"  # the rebuilt version has 500 more words
WORDS = ["教师", "学生", "中国", "教学", "任课教师", "老师", "学校", "教育"]
SUBSET_SIZE = sum(b - a for a, b in SUBSET_RANGES)


@pytest.fixture
def env(local_milvus, empty_model_dir):
    return base_env(
        WORDSIM_MILVUS_URI=local_milvus.uri,
        WORDSIM_MODEL_DIR=str(empty_model_dir),
        WORDSIM_COLLECTION="rb",
        WORDSIM_CACHE_CHECK_INTERVAL_S="0.5",
        WORDSIM_MILVUS_TIMEOUT_S="3",
    )


class Asker(threading.Thread):
    """Asks the service without pause (top_k varies, so most answers are not cached) until
    told to stop; records every status."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.statuses, self.stop = url, [], threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as client:
            i = 0
            while not self.stop.is_set() and i < 100_000:
                data = {"usr_input": WORDS[i % len(WORDS)], "top_k": str(1 + i % 50)}
                self.statuses.append(client.post("/vector_similarity", data=data).status_code)
                i += 1


def rows(server) -> int | None:
    return httpx.get(server.url + "/health", timeout=30).json().get("rows")


def test_rebuild_switches_without_a_failed_query(env, local_milvus, tmp_path):
    first = run_ingest_process(env)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "collection rb (rb_v1)" in first.stdout  # a fresh load is a version behind the alias
    server = start_server(env, tmp_path / "server.log")
    asker = Asker(server.url)
    try:
        assert rows(server) == SUBSET_SIZE
        asker.start()
        rebuild = run_ingest_process(env, EXTRA, "--rebuild")
        assert rebuild.returncode == 0, rebuild.stderr[-3000:]
        assert "rb_v1 keeps serving" in rebuild.stderr and "rb now serves collection rb_v2" in rebuild.stderr
        assert f"{SUBSET_SIZE + 500} rows, source: {SUBSET_SIZE + 500} words -> OK" in rebuild.stdout
        during = len(asker.statuses)
        # The service sees the switch at its next background check.
        for _ in range(600):
            if rows(server) == SUBSET_SIZE + 500:
                break
            threading.Event().wait(0.1)
        assert rows(server) == SUBSET_SIZE + 500
    finally:
        asker.stop.set()
        asker.join(60)
        stop_server(server)
    assert during >= 20, "the queries must run throughout the rebuild"
    assert set(asker.statuses) == {200}, {s: asker.statuses.count(s) for s in set(asker.statuses)}
    client = MilvusClient(uri=local_milvus.uri)
    try:
        assert client.describe_alias("rb")["collection_name"] == "rb_v2"
        assert not client.has_collection("rb_v1")
    finally:
        client.close()
