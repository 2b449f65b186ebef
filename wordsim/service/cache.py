"""LRU cache of finished answers, keyed by the normalised query, emptied when the
collection changes (dropped, rebuilt, or rows written). Bounded by count and by bytes:
a ``top_k=100`` answer is a hundred times a ``top_k=1`` one."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from wordsim.service import metrics


class AnswerCache:
    """Bounded LRU of response bodies. Used from the event loop only, so no lock."""

    def __init__(self, maxsize: int, meter: metrics.CollectionMetrics, max_bytes: int = 32 << 20) -> None:
        self.maxsize = maxsize
        self.max_bytes = max_bytes
        self.meter = meter
        self.bytes = 0
        """Bytes of the bodies held (keys are small next to them)."""
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self.generation: Hashable = None
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> bytes | None:
        """The cached body, or None; counted as a hit or a miss (here and in /metrics)."""
        body = self._items.get(key)
        if body is not None:
            self._items.move_to_end(key)
            self.hits += 1
            self.meter.cache_hits.inc()
        else:
            self.misses += 1
            self.meter.cache_misses.inc()
        return body

    def put(self, key: Hashable, body: bytes) -> None:
        if self.maxsize <= 0 or len(body) > self.max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.bytes -= len(old)
        self._items[key] = body
        self.bytes += len(body)
        while len(self._items) > self.maxsize or self.bytes > self.max_bytes:
            _, dropped = self._items.popitem(last=False)
            self.bytes -= len(dropped)

    def clear(self) -> None:
        """Empty it now (this worker changed the words); other workers see the change
        through :meth:`observe`."""
        self._items.clear()
        self.bytes = 0

    def observe(self, generation: Hashable) -> bool:
        """Record the collection's current identity; empties the cache and returns True
        when it differs from the last one seen."""
        changed = generation != self.generation
        if changed:
            self.clear()
            self.generation = generation
        return changed

    def __len__(self) -> int:
        return len(self._items)
