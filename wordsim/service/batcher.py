"""Micro-batching of concurrent queries in two stages: the requests waiting at a moment
share one encoder call, and the queries encoded while a Milvus search runs share the next
search (nq = their number).

Per request, most of the CPU goes to fixed costs of a model call and, above all, of a
Milvus search call (bench/RESULTS.md, section 2: Milvus' CPU per query by queries per call).
So encoding runs on any free worker thread, but each collection has at most one
search in flight: whatever is encoded meanwhile waits for it and goes to Milvus together.
The thread that finds no search running makes the search itself, so a lone request is
never delayed and crosses no extra thread. One query never fails another: when the
encoder refuses a batch, each of its texts is encoded alone and only the ones that fail
alone fail.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from functools import partial

import numpy as np

from wordsim.service import metrics
from wordsim.store.schema import Hit, SearchSpec

Pending = tuple[str, SearchSpec, asyncio.Future]
Encoded = tuple[Pending, np.ndarray]


class SearchFailed(RuntimeError):
    """Milvus could not answer (down, timed out, collection not loaded)."""


class QueryBatcher:
    """Collects (text, search) queries on the event loop; encodes them in batches on the
    executor, and searches the encoded ones, one Milvus call per kind of search (same
    filter) and at most one search at a time."""

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
        """Batches on the executor at once (each encodes; one of them may be searching)."""
        self.pending: list[Pending] = []
        self.in_flight = 0
        self.batches = 0
        # Shared by the executor's threads: the queries encoded and not yet searched, and
        # whether a thread is searching (it then searches these too before it returns).
        self._lock = threading.Lock()
        self._ready: list[Encoded] = []
        self._searching = False

    async def query(self, text: str, spec: SearchSpec | int) -> list[Hit]:
        """The nearest words of ``text`` (``spec``: a search, or just a number of hits);
        raises what the encoder or Milvus raised."""
        future = asyncio.get_running_loop().create_future()
        self.pending.append((text, SearchSpec(spec) if isinstance(spec, int) else spec, future))
        self._launch()
        return await future

    def _launch(self) -> None:
        """Hand waiting queries to free worker threads. No task per batch: the executor's
        future calls :meth:`_finished` on the loop when the batch's job ends."""
        while self.pending and self.in_flight < self.max_in_flight:
            batch, self.pending = self.pending[: self.max_batch], self.pending[self.max_batch :]
            self.in_flight += 1
            metrics.BATCH_SIZE.observe(len(batch))
            loop = asyncio.get_running_loop()
            try:
                job = loop.run_in_executor(self.executor, self._run, batch, loop)
            except RuntimeError as exc:  # the executor is shut down: the worker is stopping
                job = loop.create_future()
                job.set_exception(SearchFailed(f"the service is stopping: {exc}"))
            job.add_done_callback(partial(self._finished, batch))

    def _finished(self, batch: list[Pending], job: asyncio.Future) -> None:
        """On the loop, when a batch's job is done: free its slot, start the next. Answers
        were delivered by the jobs; a job that never ran or broke fails what it left."""
        self.in_flight -= 1
        self.batches += 1
        failure = None
        if job.cancelled():  # the executor was shut down before the batch ran
            failure = SearchFailed("the service is stopping")
        elif job.exception() is not None:
            failure = job.exception()
        if failure is not None:
            _deliver(batch, [failure] * len(batch))
        self._launch()

    # --- on a worker thread -------------------------------------------------------------
    def _run(self, batch: list[Pending], loop: asyncio.AbstractEventLoop) -> None:
        """Encode ``batch``; then, unless a search is running (it takes these vectors
        along), search every encoded query until none is left."""
        vectors, errors = self._encode_isolated([text for text, _, _ in batch])
        failed = [(p, err) for p, err in zip(batch, errors, strict=True) if err is not None]
        if failed:
            loop.call_soon_threadsafe(_deliver, [p for p, _ in failed], [err for _, err in failed])
        with self._lock:
            self._ready.extend((p, vectors[i]) for i, p in enumerate(batch) if errors[i] is None)
            if self._searching or not self._ready:
                return
            self._searching = True
        taken: list[Encoded] = []
        try:
            while True:
                with self._lock:
                    if not self._ready:
                        self._searching = False
                        return
                    taken, self._ready = self._ready[: self.max_batch], self._ready[self.max_batch :]
                metrics.SEARCH_BATCH_SIZE.observe(len(taken))
                results = self._search_all(taken)
                loop.call_soon_threadsafe(_deliver, [p for p, _ in taken], results)
                taken = []
        except BaseException as exc:
            # Nothing encoded may be left waiting for a search that no thread will make.
            with self._lock:
                taken, self._ready, self._searching = taken + self._ready, [], False
            if taken:
                loop.call_soon_threadsafe(
                    _deliver, [p for p, _ in taken], [SearchFailed(str(exc))] * len(taken)
                )
            raise

    def _search_all(self, taken: list[Encoded]) -> list[list[Hit] | Exception]:
        """Per query, its hits or its search's failure: one Milvus call per kind of search."""
        specs = [spec for (_, spec, _), _ in taken]
        results: list[list[Hit] | Exception] = [[] for _ in taken]
        groups: dict[tuple, list[int]] = {}
        for i, spec in enumerate(specs):
            groups.setdefault(spec.group(), []).append(i)
        for members in groups.values():
            first = specs[members[0]]
            limit = max(specs[i].limit for i in members)
            vectors = np.stack([taken[i][1] for i in members])
            try:
                spec = SearchSpec(limit, first.expr, first.radius, first.fields)
                hits = metrics.timed(metrics.SEARCH_SECONDS, self.search, vectors, spec)
            except Exception as exc:  # pymilvus raises MilvusException and grpc errors alike
                metrics.MILVUS_ERRORS.labels(operation="search").inc()
                for i in members:
                    results[i] = SearchFailed(str(exc))
                continue
            for i, found in zip(members, hits, strict=True):
                results[i] = found[: specs[i].limit]
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


def _deliver(queries: list[Pending], results: list) -> None:
    """On the loop: each query's hits or exception. A request that went away meanwhile
    has its future cancelled (or already failed): it is skipped."""
    for (_, _, future), result in zip(queries, results, strict=True):
        if future.done():
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)
