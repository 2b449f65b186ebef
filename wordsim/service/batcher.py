"""Micro-batching of concurrent queries: the requests waiting at a moment share one encoder
call and one Milvus search (nq = batch size).

Per request, most of the CPU goes to fixed costs of a model call and of a Milvus RPC; under
load, paying them once per batch instead of once per request is what raises throughput.
A lone request is never delayed: a batch starts as soon as a worker thread is free, with
whatever is waiting then. One query never fails another: when the encoder refuses a
batch, each of its texts is encoded alone and only the ones that fail alone fail.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from functools import partial

import numpy as np

from wordsim.service import metrics
from wordsim.store.schema import Hit, SearchSpec

Pending = tuple[str, SearchSpec, asyncio.Future]


class SearchFailed(RuntimeError):
    """Milvus could not answer (down, timed out, collection not loaded)."""


class QueryBatcher:
    """Collects (text, search) queries on the event loop and runs them in batches: one
    encoder call per batch, one Milvus search per kind of search in it (same filter)."""

    def __init__(
        self,
        encode: Callable[[list[str]], np.ndarray],
        search: Callable[[np.ndarray, SearchSpec], list[list[Hit]]],
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

    async def query(self, text: str, spec: SearchSpec | int) -> list[Hit]:
        """The nearest words of ``text`` (``spec``: a search, or just a number of hits);
        raises what the encoder or Milvus raised."""
        future = asyncio.get_running_loop().create_future()
        self.pending.append((text, SearchSpec(spec) if isinstance(spec, int) else spec, future))
        self._launch()
        return await future

    def _launch(self) -> None:
        """Hand waiting queries to free worker threads. No task per batch: the executor's
        future calls :meth:`_finished` on the loop when the batch ends, so a lone request
        costs no loop turn of its own."""
        while self.pending and self.in_flight < self.max_in_flight:
            batch, self.pending = self.pending[: self.max_batch], self.pending[self.max_batch :]
            self.in_flight += 1
            metrics.BATCH_SIZE.observe(len(batch))
            loop = asyncio.get_running_loop()
            try:
                job = loop.run_in_executor(self.executor, self._encode_and_search, batch)
            except RuntimeError as exc:  # the executor is shut down: the worker is stopping
                job = loop.create_future()
                job.set_exception(SearchFailed(f"the service is stopping: {exc}"))
            job.add_done_callback(partial(self._finished, batch))

    def _finished(self, batch: list[Pending], job: asyncio.Future) -> None:
        """On the loop, when a batch's thread is done: answer its queries, start the next.
        A request that went away meanwhile has its future cancelled: it is skipped."""
        self.in_flight -= 1
        self.batches += 1
        if job.cancelled():  # the executor was shut down before the batch ran
            results: list = [SearchFailed("the service is stopping")] * len(batch)
        elif job.exception() is not None:  # the search failed: every query of the batch shares that
            results = [job.exception()] * len(batch)
        else:
            results = job.result()
        for (_, _, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
        self._launch()

    def _encode_and_search(self, batch: list[Pending]) -> list[list[Hit] | Exception]:
        """Per query, its hits or the exception that its own encoding raised."""
        vectors, errors = self._encode_isolated([text for text, _, _ in batch])
        results: list[list[Hit] | Exception] = [err for err in errors]  # type: ignore[misc]
        groups: dict[tuple, list[int]] = {}
        for i, err in enumerate(errors):
            if err is None:
                groups.setdefault(batch[i][1].group(), []).append(i)
        for members in groups.values():
            first = batch[members[0]][1]
            spec = SearchSpec(max(batch[i][1].limit for i in members), first.expr, first.radius, first.fields)
            try:
                hits = metrics.timed(metrics.SEARCH_SECONDS, self.search, vectors[members], spec)
            except Exception as exc:  # pymilvus raises MilvusException and grpc errors alike
                metrics.MILVUS_ERRORS.labels(operation="search").inc()
                raise SearchFailed(str(exc)) from exc
            for i, found in zip(members, hits, strict=True):
                results[i] = found[: batch[i][1].limit]
        return results

    def _encode_isolated(self, texts: list[str]) -> tuple[np.ndarray, list[Exception | None]]:
        """Encode ``texts`` together; if that fails, each alone, so that only a text the
        encoder refuses by itself fails (its row of vectors is then left zero)."""
        try:
            return metrics.timed(metrics.ENCODER_SECONDS, self.encode, texts), [None] * len(texts)
        except Exception as exc:
            if len(texts) == 1:
                return np.zeros((1, 0), dtype=np.float32), [exc]
        rows: list[np.ndarray | None] = []
        errors: list[Exception | None] = []
        for text in texts:
            try:
                rows.append(metrics.timed(metrics.ENCODER_SECONDS, self.encode, [text])[0])
                errors.append(None)
            except Exception as exc:
                rows.append(None)
                errors.append(exc)
        dim = next((len(r) for r in rows if r is not None), 0)
        vectors = np.zeros((len(texts), dim), dtype=np.float32)
        for i, row in enumerate(rows):
            if row is not None:
                vectors[i] = row
        return vectors, errors
