"""Micro-batching of concurrent queries: the requests waiting at a moment share one encoder
call and one Milvus search (nq = batch size).

Per request, most of the CPU goes to fixed costs of a model call and of a Milvus RPC; under
load, paying them once per batch instead of once per request is what raises throughput.
A lone request is never delayed: a batch starts as soon as a worker thread is free, with
whatever is waiting then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor

import numpy as np

from wordsim.store.schema import Hit

Pending = tuple[str, int, asyncio.Future]


class SearchFailed(RuntimeError):
    """Milvus could not answer (down, timed out, collection not loaded)."""


class QueryBatcher:
    """Collects (text, top_k) queries on the event loop and runs them in batches."""

    def __init__(
        self,
        encode: Callable[[list[str]], np.ndarray],
        search: Callable[[np.ndarray, int], list[list[Hit]]],
        executor: Executor,
        *,
        max_batch: int,
        max_in_flight: int,
    ) -> None:
        self.encode = encode
        self.search = search
        self.executor = executor
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self.pending: list[Pending] = []
        self.in_flight = 0
        self.batches = 0

    async def query(self, text: str, top_k: int) -> list[Hit]:
        """The ``top_k`` nearest words of ``text`` (raises what the encoder or Milvus raised)."""
        future = asyncio.get_running_loop().create_future()
        self.pending.append((text, top_k, future))
        self._launch()
        return await future

    def _launch(self) -> None:
        while self.pending and self.in_flight < self.max_in_flight:
            batch, self.pending = self.pending[: self.max_batch], self.pending[self.max_batch :]
            self.in_flight += 1
            asyncio.get_running_loop().create_task(self._run(batch))

    async def _run(self, batch: list[Pending]) -> None:
        try:
            loop = asyncio.get_running_loop()
            results = await loop.run_in_executor(self.executor, self._encode_and_search, batch)
        except Exception as exc:
            for _, _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        else:
            for (_, _, future), hits in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(hits)
        finally:
            self.in_flight -= 1
            self.batches += 1
            self._launch()

    def _encode_and_search(self, batch: list[Pending]) -> list[list[Hit]]:
        vectors = self.encode([text for text, _, _ in batch])
        limit = max(top_k for _, top_k, _ in batch)
        try:
            hits = self.search(vectors, limit)
        except Exception as exc:  # pymilvus raises MilvusException and grpc errors alike
            raise SearchFailed(str(exc)) from exc
        return [found[:top_k] for (_, top_k, _), found in zip(batch, hits, strict=True)]
