"""Micro-batching of concurrent queries in two stages: the requests waiting at a moment
share one encoder call, and the queries encoded while a Milvus search runs share the next
search (nq = their number).

Per request, most of the CPU goes to fixed costs of a model call and, above all, of a
Milvus search call (bench/RESULTS.md: Milvus' CPU per query by queries per call).
So encoding runs on any free worker thread, but each collection has at most one
search in flight: whatever is encoded meanwhile waits for it and goes to Milvus together.
The thread that finds no search running makes the search itself, so a lone request is
never delayed and crosses no extra thread. One query never fails another: when the
encoder refuses a batch, each of its texts is encoded alone and only the ones that fail
alone fail.

A text is encoded once per request: its vector and where it came from (a static table's
``vector_source``) travel with the answer, and a repeated search (a filter that dropped
too many hits) hands the vector back instead of the text. ``/compare`` asks for vectors
only (no search) through the same batches.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from wordsim.service import metrics
from wordsim.service.encoding import Encode, encode_isolated
from wordsim.store.connection import refused_request
from wordsim.store.schema import Hit, SearchSpec

Search = Callable[[np.ndarray, SearchSpec], list[list[Hit]]]


class SearchFailed(RuntimeError):
    """Milvus could not answer (down, timed out, collection not loaded): an ``outage``; or
    it refused this search alone (``outage`` False), which says nothing of its health."""

    def __init__(self, message: str, *, outage: bool = True) -> None:
        super().__init__(message)
        self.outage = outage


@dataclass(frozen=True)
class Found:
    """One query's answer: its hits (none for a vector-only query), its vector and source."""

    hits: list[Hit]
    vector: np.ndarray
    source: str | None = None


@dataclass(eq=False)
class Job:
    """One query waiting in the batcher (its vector set once encoded, or given)."""

    text: str
    spec: SearchSpec | None
    """None: the vector only, no search."""
    future: asyncio.Future
    vector: np.ndarray | None = None
    source: str | None = None
    found: list[Hit] = field(default_factory=list)
    bulk: bool = False
    """Part of a heavy request: waits behind the single queries (``admission``)."""

    def answer(self) -> Found:
        return Found(self.found, self.vector, self.source)


class QueryBatcher:
    """Collects queries on the event loop; encodes them in batches on the executor, and
    searches the encoded ones, one Milvus call per kind of search (same filter) and at
    most one search at a time."""

    def __init__(
        self,
        encode: Encode,
        search: Search,
        executor: Executor,
        *,
        max_batch: int,
        max_in_flight: int,
        meter: metrics.CollectionMetrics,
    ) -> None:
        self.encode = encode
        self.search = search
        self.executor = executor
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        """Batches on the executor at once (each encodes; one of them may be searching)."""
        self.meter = meter
        self.pending: list[Job] = []
        self.bulk_pending: list[Job] = []
        """Texts of heavy requests: batched only when no single query waits, and never on
        every thread at once, so a single query always finds a thread."""
        self.in_flight = 0
        self.bulk_in_flight = 0
        self.batches = 0
        # Shared by the executor's threads: the queries encoded and not yet searched, and
        # whether a thread is searching (it then searches these too before it returns).
        self._lock = threading.Lock()
        self._ready: list[Job] = []
        self._searching = False

    async def query(
        self, text: str, spec: SearchSpec | int, vector: np.ndarray | None = None, *, bulk: bool = False
    ) -> Found:
        """The nearest words of ``text`` (``spec``: a search, or just a number of hits);
        ``vector``: its vector, already encoded; ``bulk``: part of a heavy request. Raises
        what the encoder or Milvus raised."""
        return await self._submit(text, SearchSpec(spec) if isinstance(spec, int) else spec, vector, bulk)

    async def vector(self, text: str, *, bulk: bool = False) -> Found:
        """The vector of ``text`` and its source, encoded in the same batches (no search)."""
        return await self._submit(text, None, None, bulk)

    async def _submit(
        self, text: str, spec: SearchSpec | None, vector: np.ndarray | None, bulk: bool
    ) -> Found:
        future = asyncio.get_running_loop().create_future()
        (self.bulk_pending if bulk else self.pending).append(Job(text, spec, future, vector, bulk=bulk))
        self._launch()
        return await future

    def _next_batch(self) -> list[Job] | None:
        """Single queries first; heavy requests' texts on at most all threads but one."""
        if self.in_flight >= self.max_in_flight:
            return None
        if self.pending:
            batch, self.pending = self.pending[: self.max_batch], self.pending[self.max_batch :]
            return batch
        if self.bulk_pending and self.bulk_in_flight < max(1, self.max_in_flight - 1):
            batch, self.bulk_pending = (
                self.bulk_pending[: self.max_batch],
                self.bulk_pending[self.max_batch :],
            )
            self.bulk_in_flight += 1
            return batch
        return None

    def _launch(self) -> None:
        """Hand waiting queries to free worker threads. No task per batch: the executor's
        future calls :meth:`_finished` on the loop when the batch's job ends."""
        while (batch := self._next_batch()) is not None:
            self.in_flight += 1
            loop = asyncio.get_running_loop()
            try:
                job = loop.run_in_executor(self.executor, self._run, batch, loop)
            except RuntimeError as exc:  # the executor is shut down: the worker is stopping
                job = loop.create_future()
                job.set_exception(SearchFailed(f"the service is stopping: {exc}"))
            job.add_done_callback(partial(self._finished, batch))

    def _finished(self, batch: list[Job], job: asyncio.Future) -> None:
        """On the loop, when a batch's job is done: free its slot, start the next. Answers
        were delivered by the jobs; a job that never ran or broke fails what it left."""
        self.in_flight -= 1
        if batch[0].bulk:
            self.bulk_in_flight -= 1
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
    def _run(self, batch: list[Job], loop: asyncio.AbstractEventLoop) -> None:
        """Encode what ``batch`` lacks; answer the vector-only queries and those whose
        vector is zero (similar to nothing); then, unless a search is running (it takes
        these along), search every encoded query until none is left."""
        done, failed = self._encode_batch(batch)
        if done or failed:
            jobs = done + [j for j, _ in failed]
            loop.call_soon_threadsafe(_deliver, jobs, [j.answer() for j in done] + [e for _, e in failed])
        answered = {id(j) for j in done}
        searched = [j for j in batch if j.spec is not None and j.vector is not None and id(j) not in answered]
        with self._lock:
            self._ready.extend(searched)
            if self._searching or not self._ready:
                return
            self._searching = True
        taken: list[Job] = []
        try:
            while True:
                with self._lock:
                    if not self._ready:
                        self._searching = False
                        return
                    # Single queries first (a stable sort keeps their order).
                    self._ready.sort(key=_is_bulk)
                    taken, self._ready = self._ready[: self.max_batch], self._ready[self.max_batch :]
                self.meter.search_batch_size.observe(len(taken))
                results = self._search_all(taken)
                loop.call_soon_threadsafe(_deliver, taken, results)
                taken = []
        except BaseException as exc:
            # Nothing encoded may be left waiting for a search that no thread will make.
            with self._lock:
                taken, self._ready, self._searching = taken + self._ready, [], False
            if taken:
                loop.call_soon_threadsafe(_deliver, taken, [SearchFailed(str(exc))] * len(taken))
            raise

    def _encode_batch(self, batch: list[Job]) -> tuple[list[Job], list[tuple[Job, Exception]]]:
        """Set the vector of every job that lacks one; returns the jobs answered without a
        search and the jobs whose text the encoder refused."""
        todo = [j for j in batch if j.vector is None]
        failed: list[tuple[Job, Exception]] = []
        if todo:
            self.meter.batch_size.observe(len(todo))
            texts = [j.text for j in todo]
            vectors, sources, errors = encode_isolated(self.encode, texts, self.meter.encoder_seconds)
            for i, j in enumerate(todo):
                if errors[i] is not None:
                    failed.append((j, errors[i]))
                else:
                    j.vector, j.source = vectors[i], None if sources is None else sources[i]
        # A zero vector (a static table knows nothing of the text) scores 0 with every
        # word: no search can rank anything for it.
        done = [j for j in batch if j.vector is not None and (j.spec is None or not j.vector.any())]
        return done, failed

    def _search_all(self, taken: list[Job]) -> list[Found | Exception]:
        """Per query, its answer or its search's failure: one Milvus call per kind of search."""
        results: list[Found | Exception] = [None] * len(taken)  # type: ignore[list-item]
        groups: dict[tuple, list[int]] = {}
        for i, j in enumerate(taken):
            groups.setdefault(j.spec.group(), []).append(i)
        for members in groups.values():
            first = taken[members[0]].spec
            limit = max(taken[i].spec.limit for i in members)
            vectors = np.stack([taken[i].vector for i in members])
            try:
                spec = SearchSpec(limit, first.expr, first.radius, first.fields)
                hits = metrics.timed(self.meter.search_seconds, self.search, vectors, spec)
            except Exception as exc:  # pymilvus raises MilvusException and grpc errors alike
                outage = not refused_request(exc)
                if outage:
                    self.meter.search_errors.inc()
                for i in members:
                    results[i] = SearchFailed(str(exc), outage=outage)
                continue
            for i, found in zip(members, hits, strict=True):
                taken[i].found = found[: taken[i].spec.limit]
                results[i] = taken[i].answer()
        return results


def _is_bulk(job: Job) -> bool:
    return job.bulk


def _deliver(jobs: list[Job], results: list) -> None:
    """On the loop: each query's answer or exception. A request that went away meanwhile
    has its future cancelled (or already failed): it is skipped."""
    for job, result in zip(jobs, results, strict=True):
        if job.future.done():
            continue
        if isinstance(result, BaseException):
            job.future.set_exception(result)
        else:
            job.future.set_result(result)
