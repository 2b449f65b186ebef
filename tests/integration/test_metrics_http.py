"""GET /metrics: Prometheus text that parses and counts exactly the requests made, with
one worker and with two (multiprocess mode), against the local Milvus server. The metric
hooks, with fakes, are in tests/unit/test_metrics.py."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, multiprocess

from support import metric_samples, run_ingest_process, start_server, stop_server

KEY = "metrics-test-key"


def total(parsed: dict, name: str) -> float:
    """A sample summed over all its label sets."""
    return sum(v for (n, _), v in parsed.items() if n == name)


@pytest.fixture(scope="module")
def ingested_env(server_env):
    done = run_ingest_process(server_env)
    assert done.returncode == 0, done.stderr[-3000:]
    return server_env


def scrape(url: str) -> dict:
    resp = httpx.get(url + "/metrics", timeout=30)  # no API key: /metrics is open
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    return metric_samples(resp.text)


def counts(parsed: dict) -> dict[tuple[str, str, str], float]:
    return {
        (lab["route"], lab["method"], lab["status"]): v
        for (name, labels), v in parsed.items()
        if name == "wordsim_requests_total"
        for lab in [dict(labels)]
    }


def delta(after: dict, before: dict) -> dict:
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0)}


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
    # Per collection: every query above went to the default collection, and the label takes
    # the served names only.
    per_collection = {name for name in grew if name != "wordsim_request_duration_seconds_count"}
    for name in per_collection:
        assert total(after, name) == sum(
            v for (n, labels), v in after.items() if n == name and dict(labels).get("collection") == "words"
        )
    collections = {
        dict(labels).get("collection")
        for (n, labels), _ in after.items()
        if n.startswith("wordsim_") and "collection" in dict(labels)
    }
    assert collections == {"words"}


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
