"""The metric hooks of the batcher, the cache and the multiprocess directory, with fakes.
GET /metrics of real servers is in tests/integration/test_metrics_http.py."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from support import metric_samples
from wordsim.service import metrics
from wordsim.service.batcher import QueryBatcher, SearchFailed
from wordsim.service.cache import AnswerCache


def value(parsed: dict, name: str, **labels: str) -> float:
    return parsed.get((name, frozenset(labels.items())), 0.0)


def local_value(name: str, **labels: str) -> float:
    """A sample of this process's default registry (single-process mode)."""
    return value(metric_samples(metrics.render().decode()), name, **labels)


def test_cache_counts_hits_and_misses_in_itself_and_in_the_metrics_of_its_collection():
    mine, other = {"collection": "cached"}, {"collection": "other"}
    hits0, misses0 = (
        local_value("wordsim_answer_cache_hits_total", **mine),
        local_value("wordsim_answer_cache_misses_total", **mine),
    )
    cache, other_cache = (
        AnswerCache(4, metrics.for_collection("cached")),
        AnswerCache(4, metrics.for_collection("other")),
    )
    assert cache.get("a") is None
    cache.put("a", b"x")
    assert cache.get("a") == b"x" and cache.get("a") == b"x"
    assert (cache.hits, cache.misses) == (2, 1)
    assert local_value("wordsim_answer_cache_hits_total", **mine) == hits0 + 2
    assert local_value("wordsim_answer_cache_misses_total", **mine) == misses0 + 1
    assert other_cache.get("a") is None
    assert local_value("wordsim_answer_cache_misses_total", **other) == 1


def test_batcher_records_batch_size_encoder_time_and_search_failures_of_its_collection():
    label = {"collection": "batched"}

    def encode(texts):
        return np.ones((len(texts), 2), dtype=np.float32), None

    def search(vectors, top_k):
        raise ConnectionError("milvus down")

    async def ask():
        with ThreadPoolExecutor(1) as pool:
            meter = metrics.for_collection("batched")
            batcher = QueryBatcher(encode, search, pool, max_batch=8, max_in_flight=1, meter=meter)
            return await asyncio.gather(*(batcher.query(t, 3) for t in "abc"), return_exceptions=True)

    before = metric_samples(metrics.render().decode())
    results = asyncio.run(ask())
    after = metric_samples(metrics.render().decode())
    assert all(isinstance(r, SearchFailed) for r in results)
    grew = {
        name: value(after, name, **label) - value(before, name, **label)
        for name in ("wordsim_batch_size_sum",)
    }
    assert grew["wordsim_batch_size_sum"] == 3  # every query went through a batch
    encodes = value(after, "wordsim_encoder_seconds_count", **label) - value(
        before, "wordsim_encoder_seconds_count", **label
    )
    batches = value(after, "wordsim_batch_size_count", **label) - value(
        before, "wordsim_batch_size_count", **label
    )
    assert encodes == batches >= 1
    errors = value(after, "wordsim_milvus_errors_total", operation="search", **label)
    assert errors - value(before, "wordsim_milvus_errors_total", operation="search", **label) == batches


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
        # A collection's metrics open their files as the worker starts serving it.
        [sys.executable, "-c", "import wordsim.service.metrics as m; m.for_collection('words')"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert any(folder.glob("histogram_*.db"))
