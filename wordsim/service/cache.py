"""LRU cache of finished answers, keyed by the normalised query, emptied when the
collection changes (dropped, rebuilt, or rows written)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class AnswerCache:
    """Bounded LRU of response bodies. Used from the event loop only, so no lock."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self.generation: Hashable = None

    def get(self, key: Hashable) -> bytes | None:
        body = self._items.get(key)
        if body is not None:
            self._items.move_to_end(key)
        return body

    def put(self, key: Hashable, body: bytes) -> None:
        if self.maxsize <= 0:
            return
        self._items[key] = body
        self._items.move_to_end(key)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)

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
