"""Micro-batching: concurrent queries share one encode and one search; answers per query
are what a lone query gets; failures reach every waiting query."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from fakes import FakeBackends, PickyEncoder
from wordsim.service import metrics
from wordsim.service.batcher import Found, QueryBatcher, SearchFailed
from wordsim.store.schema import SearchSpec

METER = metrics.for_collection("batched")


def batcher_over(backends: FakeBackends, pool, *, search=None, in_flight: int = 1) -> QueryBatcher:
    """The batcher under test: the fake encoder, the fake search (or ``search``), batches of 8."""
    return QueryBatcher(
        backends.encode, search or backends.search, pool, max_batch=8, max_in_flight=in_flight, meter=METER
    )


async def hits_of(pending):
    """The hits of a query's answer (its exception as it is)."""
    found = await pending
    return found.hits if isinstance(found, Found) else found


async def until(condition, what: str) -> None:
    """Wait on the loop until ``condition()`` holds (a state, not a duration: the bound
    only stops a broken test from hanging)."""
    for _ in range(5000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"never happened: {what}")


async def run_queries(backends: FakeBackends, queries: list[tuple[str, int]]):
    started = 0

    async def ask(text, spec):
        nonlocal started
        started += 1  # then, before its first wait, the query is in the batcher
        return await hits_of(batcher.query(text, spec))

    with ThreadPoolExecutor(2) as pool:
        batcher = batcher_over(backends, pool)
        tasks = [asyncio.create_task(ask(t, k)) for t, k in queries]
        # The first query's batch holds the one slot (blocked in search); the rest wait.
        await until(lambda: started == len(queries), "every query in the batcher")
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
            batcher = batcher_over(backends, pool)
            return await asyncio.wait_for(hits_of(batcher.query("教师", 3)), timeout=2)

    assert len(asyncio.run(one())) == 3


def test_a_text_the_encoder_refuses_fails_alone_and_its_batch_mates_are_answered():
    backends = PickyEncoder()
    queries = [("first", 1), ("a", 2), ("bad", 2), ("bb", 3), ("bad", 1), ("ccc", 1)]
    results, _ = asyncio.run(run_queries(backends, queries))
    for (text, top_k), result in zip(queries, results, strict=True):
        if text == "bad":
            assert isinstance(result, ValueError) and "cannot encode" in str(result)
        else:
            assert [h.id for h in result] == [len(text) * 100 + i for i in range(top_k)]
    # The batch of five failed together, then each of its texts was encoded alone; the
    # good ones still went to Milvus in one search.
    assert backends.encode_calls[1] == ["a", "bad", "bb", "bad", "ccc"]
    assert backends.search_calls == [(1, 1), (3, 3)]


def test_a_batch_of_only_refused_texts_makes_no_search():
    backends = PickyEncoder()
    results, _ = asyncio.run(run_queries(backends, [("bad", 1)] * 3))
    assert all(isinstance(r, ValueError) for r in results)
    assert backends.search_calls == []


def test_queries_with_different_filters_share_the_encoder_call_but_not_the_search():
    backends = FakeBackends()
    specs = [SearchSpec(2), SearchSpec(3, expr="freq >= 5"), SearchSpec(1), SearchSpec(2, expr="freq >= 5")]
    queries = [("first", 1)] + [(f"w{i}", spec) for i, spec in enumerate(specs)]
    results, _ = asyncio.run(run_queries(backends, queries))
    assert [len(c) for c in backends.encode_calls] == [1, 4]
    assert backends.search_calls == [(1, 1), (2, 2), (2, 3)]  # one search per filter, its largest limit
    assert [len(r) for r in results] == [1, 2, 3, 1, 2]


def test_a_query_after_the_executor_shut_down_fails_cleanly_and_frees_its_slot():
    backends = FakeBackends()
    backends.gate.set()

    async def main():
        pool = ThreadPoolExecutor(1)
        batcher = batcher_over(backends, pool)
        assert len(await hits_of(batcher.query("a", 1))) == 1
        pool.shutdown(wait=True)  # the worker is stopping
        outcome = await asyncio.gather(batcher.query("b", 1), return_exceptions=True)
        return outcome[0], batcher

    failure, batcher = asyncio.run(main())
    assert isinstance(failure, SearchFailed) and "stopping" in str(failure)
    assert batcher.in_flight == 0 and batcher.pending == []


def test_a_request_that_goes_away_does_not_stop_its_batch_mates():
    backends = FakeBackends()

    async def main():
        with ThreadPoolExecutor(1) as pool:
            batcher = batcher_over(backends, pool)
            first = asyncio.create_task(hits_of(batcher.query("a", 1)))
            await until(lambda: backends.searching == 1, '"a" in search, blocked on the gate')
            gone = asyncio.create_task(hits_of(batcher.query("bb", 1)))
            kept = asyncio.create_task(hits_of(batcher.query("ccc", 1)))
            await asyncio.sleep(0)
            gone.cancel()  # its client disconnected
            backends.gate.set()
            return await first, await kept, gone.cancelled(), batcher

    first, kept, cancelled, batcher = asyncio.run(main())
    assert cancelled and [h.id for h in first] == [100] and [h.id for h in kept] == [300]
    assert batcher.in_flight == 0 and batcher.batches == 2


def test_queries_encoded_while_a_search_runs_share_the_next_search():
    backends = FakeBackends()

    async def main():
        with ThreadPoolExecutor(2) as pool:
            batcher = batcher_over(backends, pool, in_flight=2)
            tasks = [asyncio.create_task(hits_of(batcher.query(t, 2))) for t in ("a", "bb", "ccc")]
            # "a" is in its search (held by the gate); "bb" and "ccc" are encoded meanwhile,
            # one after the other on the second thread, and wait for that search to end.
            await until(lambda: len(backends.encode_calls) == 3 and batcher.in_flight == 1, "bb, ccc encoded")
            assert backends.search_calls == []
            backends.gate.set()
            return await asyncio.gather(*tasks), batcher

    results, batcher = asyncio.run(main())
    assert backends.encode_calls == [["a"], ["bb"], ["ccc"]]
    assert backends.search_calls == [(1, 2), (2, 2)]  # one search for both, not one each
    assert [[h.id for h in r] for r in results] == [[100, 101], [200, 201], [300, 301]]
    assert batcher.in_flight == 0 and batcher.batches == 3


class Broken(BaseException):
    """Not an ``Exception``: what the search's own error handling does not catch."""


def test_a_search_thread_that_breaks_fails_its_queries_and_the_waiting_ones_and_the_next_is_answered():
    backends = FakeBackends()
    broken = {"once": True}
    search = backends.search

    def breaking_search(vectors, spec):
        if broken.pop("once", False):
            backends.gate.wait(5)
            raise Broken("thread torn down")
        return search(vectors, spec)

    async def main():
        with ThreadPoolExecutor(2) as pool:
            batcher = batcher_over(backends, pool, search=breaking_search, in_flight=2)
            tasks = [asyncio.create_task(hits_of(batcher.query(t, 1))) for t in ("a", "bb", "ccc")]
            await until(lambda: len(backends.encode_calls) == 3 and batcher.in_flight == 1, "bb, ccc encoded")
            backends.gate.set()
            failed = await asyncio.gather(*tasks, return_exceptions=True)
            await until(lambda: batcher.in_flight == 0, "the broken job ended")
            return failed, await asyncio.wait_for(hits_of(batcher.query("dddd", 1)), timeout=5)

    failed, later = asyncio.run(main())
    assert all(isinstance(r, SearchFailed) and "torn down" in str(r) for r in failed)
    assert [h.id for h in later] == [400]


def test_a_repeated_search_reuses_the_vector_and_a_vector_only_query_makes_no_search():
    backends = FakeBackends()
    backends.gate.set()

    async def main():
        with ThreadPoolExecutor(1) as pool:
            batcher = batcher_over(backends, pool)
            first = await batcher.query("ab", 1)
            again = await batcher.query("ab", 3, first.vector)  # a filter dropped too many hits
            alone = await batcher.vector("abc")
            return again, alone

    again, alone = asyncio.run(main())
    assert backends.encode_calls == [["ab"], ["abc"]]  # "ab" encoded once for both searches
    assert backends.search_calls == [(1, 1), (1, 3)]  # "abc" asked for its vector only
    assert [h.id for h in again.hits] == [200, 201, 202] and alone.hits == [] and alone.vector[0] == 3.0


def test_a_zero_vector_is_answered_without_a_search():
    class KnowsNothing(FakeBackends):
        def encode(self, texts):
            vectors, _ = super().encode(texts)
            return vectors * 0, ["none"] * len(texts)

    backends = KnowsNothing()
    backends.gate.set()

    async def main():
        with ThreadPoolExecutor(1) as pool:
            batcher = batcher_over(backends, pool)
            return await batcher.query("zz", 3)

    found = asyncio.run(main())
    assert found.hits == [] and found.source == "none" and backends.search_calls == []


def test_single_queries_are_encoded_before_the_texts_of_heavy_requests():
    backends = FakeBackends()

    async def main():
        with ThreadPoolExecutor(2) as pool:
            batcher = batcher_over(backends, pool)
            first = asyncio.create_task(batcher.query("a", 1))
            await until(lambda: backends.searching == 1, '"a" in search, holding the one slot')
            heavy = [asyncio.create_task(batcher.query(t, 1, bulk=True)) for t in ("b1", "b2", "b3")]
            await until(lambda: len(batcher.bulk_pending) == 3, "the heavy texts waiting")
            single = asyncio.create_task(batcher.query("c", 1))
            await until(lambda: len(batcher.pending) == 1, "the single query waiting")
            backends.gate.set()
            await asyncio.gather(first, single, *heavy)
            return batcher

    batcher = asyncio.run(main())
    assert backends.encode_calls == [["a"], ["c"], ["b1", "b2", "b3"]]
    assert batcher.bulk_in_flight == 0 and batcher.in_flight == 0
