"""GET /metrics: Prometheus text that parses and counts exactly the requests made, with
one worker and with two (multiprocess mode), against the local Milvus server; and the
metric hooks of the batcher, the cache and the multiprocess directory, with fakes."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pytest
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.parser import text_string_to_metric_families

from support import run_ingest_process, start_server, stop_server
from wordsim.service import metrics
from wordsim.service.batcher import QueryBatcher, SearchFailed
from wordsim.service.cache import AnswerCache

KEY = "metrics-test-key"


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """(sample name, labels) -> value of a text exposition."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(parsed: dict, name: str, **labels: str) -> float:
    return parsed.get((name, frozenset(labels.items())), 0.0)


def total(parsed: dict, name: str) -> float:
    """A sample summed over all its label sets."""
    return sum(v for (n, _), v in parsed.items() if n == name)


def local_value(name: str, **labels: str) -> float:
    """A sample of this process's default registry (single-process mode)."""
    return value(samples(metrics.render().decode()), name, **labels)


# --- hooks, with fakes -------------------------------------------------------------------
def test_cache_counts_hits_and_misses_in_itself_and_in_the_metrics():
    hits0, misses0 = (
        local_value("wordsim_answer_cache_hits_total"),
        local_value("wordsim_answer_cache_misses_total"),
    )
    cache = AnswerCache(4)
    assert cache.get("a") is None
    cache.put("a", b"x")
    assert cache.get("a") == b"x" and cache.get("a") == b"x"
    assert (cache.hits, cache.misses) == (2, 1)
    assert local_value("wordsim_answer_cache_hits_total") == hits0 + 2
    assert local_value("wordsim_answer_cache_misses_total") == misses0 + 1


def test_batcher_records_batch_size_encoder_time_and_search_failures():
    def encode(texts):
        return np.ones((len(texts), 2), dtype=np.float32)

    def search(vectors, top_k):
        raise ConnectionError("milvus down")

    async def ask():
        with ThreadPoolExecutor(1) as pool:
            batcher = QueryBatcher(encode, search, pool, max_batch=8, max_in_flight=1)
            return await asyncio.gather(*(batcher.query(t, 3) for t in "abc"), return_exceptions=True)

    before = samples(metrics.render().decode())
    results = asyncio.run(ask())
    after = samples(metrics.render().decode())
    assert all(isinstance(r, SearchFailed) for r in results)
    grew = {name: value(after, name) - value(before, name) for name in ("wordsim_batch_size_sum",)}
    assert grew["wordsim_batch_size_sum"] == 3  # every query went through a batch
    encodes = value(after, "wordsim_encoder_seconds_count") - value(before, "wordsim_encoder_seconds_count")
    batches = value(after, "wordsim_batch_size_count") - value(before, "wordsim_batch_size_count")
    assert encodes == batches >= 1
    errors = value(after, "wordsim_milvus_errors_total", operation="search")
    assert errors - value(before, "wordsim_milvus_errors_total", operation="search") == batches


def test_multiprocess_dir_given_is_emptied_of_earlier_runs_but_not_of_this_process(tmp_path, monkeypatch):
    monkeypatch.setenv(metrics.MULTIPROC_ENV, str(tmp_path))
    stale, own = tmp_path / "counter_99999999.db", tmp_path / f"counter_{os.getpid()}.db"
    stale.write_bytes(b"x")
    own.write_bytes(b"x")
    assert metrics.prepare_multiprocess_dir(workers=2) == tmp_path
    assert not stale.exists() and own.exists()


def test_folders_of_killed_servers_are_swept_and_live_ones_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid names no process now (reuse within this test is not plausible)
    left = tmp_path / f"wordsim-metrics-{dead.pid}-abc"
    live = tmp_path / f"wordsim-metrics-{os.getpid()}-def"
    other = tmp_path / "wordsim-metrics-unrelated"
    for folder in (left, live, other):
        folder.mkdir()
        (folder / "counter_1.db").write_bytes(b"x")
    assert metrics.sweep_left_folders(tmp_path) == [left]
    assert not left.exists() and live.exists() and other.exists()


def test_multiprocess_dir_is_made_for_several_workers_only(monkeypatch):
    monkeypatch.setenv(metrics.MULTIPROC_ENV, "")  # recorded, so the value set below is undone
    monkeypatch.delenv(metrics.MULTIPROC_ENV)
    assert metrics.prepare_multiprocess_dir(workers=1) is None
    assert metrics.MULTIPROC_ENV not in os.environ
    made = metrics.prepare_multiprocess_dir(workers=2)
    try:
        assert made is not None and made.is_dir() and not any(made.iterdir())
        assert os.environ[metrics.MULTIPROC_ENV] == str(made)
    finally:
        shutil.rmtree(made, ignore_errors=True)


def test_a_given_multiprocess_dir_is_created_before_the_metrics_open_their_files(tmp_path):
    folder = tmp_path / "not" / "yet"
    env = {**os.environ, metrics.MULTIPROC_ENV: str(folder)}
    done = subprocess.run(
        [sys.executable, "-c", "import wordsim.service.metrics"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert any(folder.glob("histogram_*.db"))


# --- real servers on the local Milvus server ----------------------------------------------
@pytest.fixture(scope="module")
def ingested_env(server_env):
    done = run_ingest_process(server_env)
    assert done.returncode == 0, done.stderr[-3000:]
    return server_env


def scrape(url: str) -> dict:
    resp = httpx.get(url + "/metrics", timeout=30)  # no API key: /metrics is open
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    return samples(resp.text)


def counts(parsed: dict) -> dict[tuple[str, str, str], float]:
    return {
        (lab["route"], lab["method"], lab["status"]): v
        for (name, labels), v in parsed.items()
        if name == "wordsim_requests_total"
        for lab in [dict(labels)]
    }


def delta(after: dict, before: dict) -> dict:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0)}


@pytest.mark.slow
@pytest.mark.milvus_server
@pytest.mark.parametrize("workers", [1, 2])
def test_metrics_count_the_requests_made(ingested_env, tmp_path, workers):
    env = {**ingested_env, "WORDSIM_WORKERS": str(workers), "WORDSIM_API_KEY": KEY}
    server = start_server(env, tmp_path / "server.log")
    try:
        before = scrape(server.url)
        words = ["教师", "学生", "中国", "教师", "教师"]
        for word in words:  # a new connection each: with 2 workers they may land on either
            r = httpx.post(
                server.url + "/vector_similarity", data={"usr_input": word}, headers={"X-API-Key": KEY}
            )
            assert r.status_code == 200, r.text
        bad = httpx.post(
            server.url + "/vector_similarity", data={"usr_input": " "}, headers={"X-API-Key": KEY}
        )
        assert bad.status_code == 400
        assert httpx.get(server.url + "/vector_similarity?usr_input=x", timeout=30).status_code == 401
        assert httpx.get(server.url + "/no/such/path", headers={"X-API-Key": KEY}).status_code == 404
        after = scrape(server.url)
        if workers > 1:  # the main process made a temporary folder, logged, removed at exit
            folder = re.search(r"metrics of 2 workers shared through (\S+)", server.log())
            assert folder, server.log()
            assert_files_sum_to_the_scrape(Path(folder.group(1)), after, tmp_path)
    finally:
        stopped_by_itself = stop_server(server, timeout=60)
    if workers > 1:  # the exit handler runs only if the server stops on SIGINT
        assert stopped_by_itself, f"no exit on SIGINT within 60 s:\n{server.log()}"
        assert not Path(folder.group(1)).exists(), server.log()
    assert delta(counts(after), counts(before)) == {
        ("similarity_post", "POST", "200"): 5,
        ("similarity_post", "POST", "400"): 1,
        ("similarity_get", "GET", "401"): 1,
        ("unmatched", "GET", "404"): 1,
        ("metrics", "GET", "200"): 1,  # the first scrape; a scrape is counted after it answers
    }
    grew = {name: total(after, name) - total(before, name) for name in [
        "wordsim_answer_cache_hits_total", "wordsim_answer_cache_misses_total", "wordsim_batch_size_sum",
        "wordsim_batch_size_count", "wordsim_encoder_seconds_count", "wordsim_request_duration_seconds_count",
    ]}  # fmt: skip
    assert grew["wordsim_answer_cache_hits_total"] + grew["wordsim_answer_cache_misses_total"] == 5
    if workers == 1:  # one cache: 教师 is computed once, then served twice from the cache
        assert (grew["wordsim_answer_cache_hits_total"], grew["wordsim_answer_cache_misses_total"]) == (2, 3)
    # Sequential requests: each miss is a batch of one, encoded once.
    misses = grew["wordsim_answer_cache_misses_total"]
    assert grew["wordsim_batch_size_sum"] == grew["wordsim_batch_size_count"] == misses
    assert grew["wordsim_encoder_seconds_count"] == misses
    assert grew["wordsim_request_duration_seconds_count"] == 9  # every request counted above is timed


def assert_files_sum_to_the_scrape(folder: Path, scraped: dict, scratch: Path) -> None:
    """Each worker wrote its own files; collected one process at a time, they add up to
    what the scrape reported."""
    pids = sorted({p.stem.rsplit("_", 1)[1] for p in folder.glob("*.db")})
    assert len(pids) >= 2, pids
    total = 0.0
    for pid in pids:
        alone = scratch / f"pid_{pid}"
        alone.mkdir()
        for f in folder.glob(f"*_{pid}.db"):
            shutil.copy(f, alone / f.name)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(alone))
        parsed = {
            (s.name, frozenset(s.labels.items())): s.value for fam in registry.collect() for s in fam.samples
        }
        total += sum(v for (name, _), v in parsed.items() if name == "wordsim_requests_total")
    # The scrape is rendered before it is counted: its own request is in the files only.
    assert total == sum(counts(scraped).values()) + 1
