"""Admission, with no server: per-client counts, the heavy requests' turn and queue, and
the strict reading of a request head."""

from __future__ import annotations

import asyncio

import pytest
from sanic.exceptions import BadRequest

from wordsim.service.admission import Admission, TooManyRequests, work_of
from wordsim.service.strict_http import check_head


def test_work_counts_texts_times_hits_in_tens():
    assert work_of(1, 3) == work_of(1, 10) == 1
    assert work_of(1, 11) == 2 and work_of(64, 100) == 640 and work_of(2, 1) == 2


def test_a_client_past_its_limit_is_refused_and_its_slots_come_back():
    gate = Admission(per_client=2, heavy_in_flight=1, heavy_queue=0)

    async def main():
        async with gate.client("a"), gate.client("a"):
            with pytest.raises(TooManyRequests) as refused:
                async with gate.client("a"):
                    pass
            async with gate.client("b"):  # another client is not affected
                pass
        assert gate.clients == {}
        async with gate.client("a"):
            pass
        return refused.value

    refused = asyncio.run(main())
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"


def test_heavy_requests_take_turns_and_the_queue_is_bounded():
    gate = Admission(per_client=0, heavy_in_flight=1, heavy_queue=1)
    order: list[str] = []

    async def heavy(name: str, hold: asyncio.Event | None = None):
        async with gate.work(10):
            order.append(name)
            if hold is not None:
                await hold.wait()

    async def main():
        hold = asyncio.Event()
        first = asyncio.create_task(heavy("first", hold))
        await asyncio.sleep(0)  # first holds the turn
        second = asyncio.create_task(heavy("second"))
        await asyncio.sleep(0)  # second waits in the queue
        assert gate.heavy_waiting == 1
        with pytest.raises(TooManyRequests):
            await heavy("third")  # the queue is full
        async with gate.work(1):  # a single word never waits
            order.append("light")
        hold.set()
        await asyncio.gather(first, second)

    asyncio.run(main())
    assert order == ["first", "light", "second"] and gate.heavy_waiting == 0


@pytest.mark.parametrize(
    "head",
    [
        b"POST / HTTP/1.1\r\nTransfer-Encoding : chunked",
        b"GET / HTTP/1.1\r\nHost: x\r\n folded",
        b"GET / HTTP/1.1\r\nNoColon",
        b"GET / HTTP/1.1\r\nBad Name: x",
        b"POST / HTTP/1.1\r\nContent-Length: -1",
        b"POST / HTTP/1.1\r\nContent-Length: 1e3",
    ],
)
def test_a_malformed_head_is_refused(head):
    with pytest.raises(BadRequest):
        check_head(head)


def test_a_well_formed_head_passes():
    check_head(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nX-Api-Key:k\r\nAccept: */*")
