"""Words added and deleted at serve time (``POST /words``, ``DELETE /words/{id}``).

Ids. An added word's id is derived from its text: ``ADDED_ID_OFFSET + blake2b(text) mod
ADDED_ID_SPAN`` (the source's ids, its line numbers, stay below the offset). No allocator
state exists, so nothing can go wrong between workers, service replicas or after a crash:
two workers adding the same word at once compute the same id and upsert the same row;
a request retried after a crash writes the same row again. Milvus has no lock or
transaction that a ``max(id) + 1`` scheme would need across processes and hosts. The
price: the ids are not consecutive. Two different words with the same hash (about one
chance in 10**4 after a million added words) are told apart by probing the next
candidate, ``hash("1:" + text)``, and so on; the sequence is deterministic too.

Idempotent by text: a word already in the collection, from the source or added, is
answered with its id (the smallest, should the source hold it twice) and not written.

Visibility: lookups are strongly consistent (``consistency_level="Strong"``), and a write
is followed by a strong read of its ids (:meth:`WordEditor._settle`), so the next search
finds an added word and no longer finds a deleted one; then the words version is changed
(:data:`PROP_WORDS_VERSION`) so that every worker's watch loop empties its answer cache.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from wordsim.store.collection import WordStore
from wordsim.store.schema import ADDED_ID_OFFSET, ADDED_ID_SPAN, PROP_WORDS_VERSION, VECTOR_FIELD

MAX_PROBES = 8


@dataclass(frozen=True)
class Word:
    id: int
    text: str
    added: bool
    """Written by this call (False: it was already there)."""


def candidate_id(text: str, attempt: int = 0) -> int:
    """The ``attempt``-th candidate id of an added ``text`` (0 is nearly always taken)."""
    key = text if attempt == 0 else f"{attempt}:{text}"
    digest = hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()
    return ADDED_ID_OFFSET + int.from_bytes(digest, "big") % ADDED_ID_SPAN


def is_added_id(word_id: int) -> bool:
    return word_id >= ADDED_ID_OFFSET


def _text_filter(texts: Sequence[str]) -> str:
    """``text in [...]`` with each text as a JSON string literal, which Milvus' expression
    parser reads back exactly (quotes and backslashes escaped; control characters were
    refused by the input policy before)."""
    return "text in [" + ", ".join(json.dumps(t, ensure_ascii=False) for t in texts) + "]"


class WordEditor:
    """Serve-time writes to one collection (the bulk load's are in ``bulk_load``)."""

    def __init__(self, store: WordStore) -> None:
        self.store = store
        self.client = store.client
        self.name = store.name
        self.timeout = store.settings.milvus_timeout_s

    def _query(self, expr: str, fields: list[str]) -> list[dict]:
        return list(
            self.client.query(
                self.name, filter=expr, output_fields=fields, consistency_level="Strong", timeout=self.timeout
            )
        )

    def find(self, texts: Sequence[str]) -> dict[str, int]:
        """text -> id of those already in the collection (the smallest id per text)."""
        found: dict[str, int] = {}
        for row in self._query(_text_filter(texts), ["id", "text"]):
            wid, text = int(row["id"]), row["text"]
            found[text] = min(wid, found.get(text, wid))
        return found

    def texts_of(self, ids: Sequence[int]) -> dict[int, str]:
        expr = "id in [" + ", ".join(str(int(i)) for i in ids) + "]"
        return {int(r["id"]): r["text"] for r in self._query(expr, ["id", "text"])}

    def add(self, texts: Sequence[str], encode: Callable[[list[str]], np.ndarray]) -> list[Word]:
        """Each of ``texts`` (normalised, distinct) with its id, writing the missing ones."""
        existing = self.find(texts)
        new = [t for t in texts if t not in existing]
        ids = self._allocate(new)
        if new:
            vectors = encode(new)
            rows = [
                {"id": ids[t], "text": t, "freq": 0, "pos": "", VECTOR_FIELD: vectors[i].tolist()}
                for i, t in enumerate(new)
            ]
            self.client.upsert(self.name, rows, timeout=self.timeout)
            self._settle(list(ids.values()))
            self.mark_changed()
        return [Word(existing.get(t, ids.get(t, -1)), t, t in ids) for t in texts]

    def _allocate(self, texts: list[str]) -> dict[str, int]:
        """text -> its id: the first candidate not held by another text."""
        ids: dict[str, int] = {}
        pending = {t: 0 for t in texts}
        while pending:
            candidates = {t: candidate_id(t, attempt) for t, attempt in pending.items()}
            holders = self.texts_of(list(candidates.values()))
            taken = set(ids.values())
            for text, wid in candidates.items():
                if holders.get(wid, text) == text and wid not in taken:
                    ids[text] = wid
                    taken.add(wid)
                    del pending[text]
                elif pending[text] + 1 >= MAX_PROBES:
                    raise RuntimeError(f"no free id for {text!r} after {MAX_PROBES} candidates")
                else:
                    pending[text] += 1
        return ids

    def delete(self, word_id: int) -> str | None:
        """Delete an added word; its text, or None when no word has that id."""
        text = self.texts_of([word_id]).get(word_id)
        if text is not None:
            self.client.delete(self.name, ids=[int(word_id)], timeout=self.timeout)
            self._settle([word_id])
            self.mark_changed()
        return text

    def _settle(self, ids: list[int]) -> None:
        """A strongly consistent read of the written ids: it returns once the query nodes
        have applied the write, so the next (bounded-consistency) search sees it, in this
        worker and in the others. Without it, a search right after the write may not."""
        self.texts_of(ids)

    def count_added(self) -> int:
        return self.store.count(id_from=ADDED_ID_OFFSET)

    def mark_changed(self) -> None:
        """A new words version: every worker's watch loop empties its answer cache."""
        self.client.alter_collection_properties(
            self.name, properties={PROP_WORDS_VERSION: uuid.uuid4().hex}, timeout=self.timeout
        )
