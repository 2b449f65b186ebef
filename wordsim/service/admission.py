"""Fairness between requests and between clients, per worker.

- Between clients: at most ``WORDSIM_MAX_CLIENT_REQUESTS`` requests of one remote address
  in progress at once; one more answers 429 with ``Retry-After``. One client's loop cannot
  take every executor thread.
- Between cheap and expensive requests: a request's work is the texts it encodes times the
  hits it asks for in tens (:func:`work_of`). A request of more than one unit (a list of
  words or pairs, ``top_k`` above 10) is heavy: at most ``WORDSIM_HEAVY_IN_FLIGHT`` of them
  are worked on at once, at most ``WORDSIM_HEAVY_QUEUE`` wait their turn, and the rest answer
  429 with ``Retry-After``. Single-word queries never wait here; in the batcher they go
  before the texts of heavy requests (``QueryBatcher``'s ``bulk``).
Refusals are counted in ``wordsim_refused_total`` by reason.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sanic.exceptions import SanicException

from wordsim.service import metrics

RETRY_AFTER_S = 1
"""What a refused client is told to wait: a heavy request takes about that long."""


class TooManyRequests(SanicException):
    status_code = 429
    quiet = True

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"Retry-After": str(RETRY_AFTER_S)})


def work_of(texts: int, top_k: int) -> int:
    """Units of work of a request: one per text encoded, times its hits in tens."""
    return texts * max(1, math.ceil(top_k / 10))


class Admission:
    """The worker's gate: per-client counts and the heavy requests' turn. Event loop only."""

    def __init__(self, per_client: int, heavy_in_flight: int, heavy_queue: int) -> None:
        self.per_client = per_client
        self.heavy_queue = heavy_queue
        self.clients: dict[str, int] = {}
        self.heavy = asyncio.Semaphore(heavy_in_flight)
        self.heavy_waiting = 0

    @asynccontextmanager
    async def client(self, address: str) -> AsyncIterator[None]:
        """One request of ``address`` in progress, or 429 when it has too many."""
        held = self.clients.get(address, 0)
        if self.per_client and held >= self.per_client:
            metrics.REFUSED.labels(reason="client_limit").inc()
            raise TooManyRequests(
                f"at most {self.per_client} requests of one client at once: wait for an answer first"
            )
        self.clients[address] = held + 1
        try:
            yield
        finally:
            left = self.clients[address] - 1
            if left:
                self.clients[address] = left
            else:
                del self.clients[address]

    @asynccontextmanager
    async def work(self, units: int) -> AsyncIterator[None]:
        """Hold the heavy requests' turn while a request of ``units`` works (no wait for one unit)."""
        if units <= 1:
            yield
            return
        if self.heavy.locked() and self.heavy_waiting >= self.heavy_queue:
            metrics.REFUSED.labels(reason="heavy_queue").inc()
            raise TooManyRequests("the service is busy with other large requests: try again shortly")
        self.heavy_waiting += 1
        try:
            await self.heavy.acquire()
        finally:
            self.heavy_waiting -= 1
        try:
            yield
        finally:
            self.heavy.release()
