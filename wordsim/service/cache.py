"""LRU cache of finished answers, keyed by the normalised query, emptied when the
collection changes (dropped, rebuilt, or rows written)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable

from wordsim.service import metrics


class AnswerCache:
    """Bounded LRU of response bodies. Used from the event loop only, so no lock."""

    def __init__(self, maxsize: int, meter: metrics.CollectionMetrics) -> None:
        self.maxsize = maxsize
        self.meter = meter
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
        if self.maxsize <= 0:
            return
        self._items[key] = body
        self._items.move_to_end(key)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

    def clear(self) -> None:
        """Empty it now (this worker changed the words); other workers see the change
        through :meth:`observe`."""
        self._items.clear()

    def observe(self, generation: Hashable) -> bool:
        """Record the collection's current identity; empties the cache and returns True
        when it differs from the last one seen."""
        changed = generation != self.generation
        if changed:
            self._items.clear()
            self.generation = generation
        return changed

    def __len__(self) -> int:
        return len(self._items)
