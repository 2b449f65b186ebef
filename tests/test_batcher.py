"""Micro-batching: concurrent queries share one encode and one search; answers per query
are what a lone query gets; failures reach every waiting query."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from wordsim.service.batcher import QueryBatcher, SearchFailed
from wordsim.store.schema import Hit


class FakeBackends:
    """Encoder and search that record their calls; search is slow so queries pile up."""

    def __init__(self, fail: bool = False) -> None:
        self.encode_calls: list[list[str]] = []
        self.search_calls: list[tuple[int, int]] = []
        self.fail = fail
        self.gate = threading.Event()

    def encode(self, texts: list[str]) -> np.ndarray:
        self.encode_calls.append(list(texts))
        return np.array([[float(len(t))] for t in texts], dtype=np.float32)

    def search(self, vectors: np.ndarray, top_k: int) -> list[list[Hit]]:
        self.gate.wait(5)
        self.search_calls.append((len(vectors), top_k))
        if self.fail:
            raise ConnectionError("milvus down")
        return [[Hit(int(v[0]) * 100 + i, 1.0 - i / 10, f"w{i}") for i in range(top_k)] for v in vectors]


async def run_queries(backends: FakeBackends, queries: list[tuple[str, int]]):
    with ThreadPoolExecutor(2) as pool:
        batcher = QueryBatcher(backends.encode, backends.search, pool, max_batch=8, max_in_flight=1)
        tasks = [asyncio.create_task(batcher.query(t, k)) for t, k in queries]
        await asyncio.sleep(0.05)  # the first batch is blocked in search; the rest wait
        backends.gate.set()
        return await asyncio.gather(*tasks, return_exceptions=True), batcher


def test_waiting_queries_share_one_encode_and_one_search():
    backends = FakeBackends()
    queries = [("a" * (i % 4 + 1), 1 + i % 3) for i in range(12)]
    results, batcher = asyncio.run(run_queries(backends, queries))
    assert batcher.batches == 3
    # The first query runs alone (nothing waits yet); the other 11 go in batches of <= 8.
    assert [len(c) for c in backends.encode_calls] == [1, 8, 3]
    assert backends.search_calls == [(1, 1), (8, 3), (3, 3)]
    for (text, top_k), hits in zip(queries, results, strict=True):
        assert len(hits) == top_k
        assert [h.id for h in hits] == [len(text) * 100 + i for i in range(top_k)]


def test_search_failure_reaches_every_waiting_query():
    backends = FakeBackends(fail=True)
    results, _ = asyncio.run(run_queries(backends, [("x", 3)] * 5))
    assert all(isinstance(r, SearchFailed) and "milvus down" in str(r) for r in results)


def test_lone_query_is_not_delayed():
    backends = FakeBackends()
    backends.gate.set()

    async def one():
        with ThreadPoolExecutor(1) as pool:
            batcher = QueryBatcher(backends.encode, backends.search, pool, max_batch=8, max_in_flight=1)
            return await asyncio.wait_for(batcher.query("教师", 3), timeout=2)

    assert len(asyncio.run(one())) == 3
