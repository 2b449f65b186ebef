"""What a bulk load adds to the collection: create it, write rows, then merge, index and load.

A new collection is filled with no index, its segments are merged (compaction), and the
HNSW index is built once over the merged segments, instead of indexing small segments
during the insert and again after Milvus merges them.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from wordsim.store import versions
from wordsim.store.collection import WordStore
from wordsim.store.connection import StoreError
from wordsim.store.schema import (
    ADDED_ID_OFFSET,
    METRIC,
    PROP_MODEL,
    PROP_SOURCE_ROWS,
    VECTOR_FIELD,
    build_schema,
)

log = logging.getLogger("wordsim.store")

POLL_S = 0.5
PROGRESS_EVERY_S = 30.0
COMPACT_TIMEOUT_S = 600.0
INDEX_SETTLE_S = 5.0
SCALAR_INDEXES = (("pos", "Trie"), ("freq", "STL_SORT"))
"""Milvus 2.3's scalar index types for a VARCHAR and an INT64 field."""


class WordLoader(WordStore):
    """The collection as the ingest uses it: everything the server reads, plus writes.

    ``alias``: an alias to point at the collection as soon as it is created (a fresh load
    serves its collection from the start; a rebuild switches only once complete)."""

    def __init__(self, client, settings, name: str | None = None, alias: str | None = None) -> None:
        super().__init__(client, settings, name)
        self.alias = alias

    def added_words(self) -> str:
        """How many words POST /words added (they are not in the source); "unknown" when
        the collection cannot be counted."""
        try:
            self.ensure_loaded()
            return str(self.count(id_from=ADDED_ID_OFFSET))
        except Exception as exc:  # e.g. a load that stopped before its index
            log.debug("cannot count added words: %s", exc)
            return "unknown"

    def create(self, dim: int, model_fingerprint: str, source_rows: int) -> None:
        """Create the collection and record the model; no index yet (see the module doc)."""
        self.client.create_collection(
            self.name,
            schema=build_schema(dim),
            consistency_level="Bounded",
            properties={PROP_MODEL: model_fingerprint, PROP_SOURCE_ROWS: str(source_rows)},
        )
        log.info("created collection %s (dim %d)", self.name, dim)
        if self.alias:
            versions.point(self.client, self.alias, self.name)

    def write(self, rows: list[dict[str, Any]], *, upsert: bool) -> None:
        """Insert rows, or upsert them where some ids may already be present."""
        if upsert:
            self.client.upsert(self.name, rows)
        else:
            self.client.insert(self.name, rows)

    def flush(self) -> None:
        if not self.settings.is_milvus_lite:
            self.client.flush(self.name)

    def merge_index_load(self, wait_for_index: bool = True) -> None:
        """Merge the flushed segments, index them (creating the index if missing), load.

        ``wait_for_index`` False: load as soon as the index is created. Milvus then serves
        the rows its index does not cover yet by exhaustive search (exact answers, each
        search slower) and swaps the index in, segment by segment, once built: the first
        answer comes an index build sooner."""
        t0 = time.perf_counter()
        self.compact()
        # Milvus builds one index at a time, in order: the scalar ones first (seconds), so
        # that they are not queued behind the vector index's minutes.
        self.index_scalar_fields()
        if wait_for_index:
            self.build_index()
        else:
            self.create_index()
        self.ensure_loaded()
        if wait_for_index:
            log.info("compacted, indexed and loaded in %.1f s", time.perf_counter() - t0)
            return
        log.info(
            "compacted and loaded in %.1f s; serving %s before its index is built: searches are "
            "exhaustive until Milvus has built the %s index (GET /health shows its progress)",
            time.perf_counter() - t0,
            self.name,
            self.settings.index_type,
        )

    def compact(self, timeout_s: float = COMPACT_TIMEOUT_S) -> None:
        """Merge the small segments an insert leaves behind: fewer segments to search, and
        the index built once per final segment. Passes repeat while they reduce the
        segment count and leave two or more small segments (below half the largest) that
        could still merge; a lone small remainder has nothing to merge with, and a pass
        that finds nothing to do still costs seconds."""
        deadline = time.monotonic() + timeout_s
        segments = self._segment_count()
        while True:
            job = self.client.compact(self.name)
            while (state := str(self.client.get_compaction_state(job))) != "Completed":
                if time.monotonic() > deadline:
                    log.warning(
                        "compaction of %s still %s after %.0f s; indexing anyway", self.name, state, timeout_s
                    )
                    return
                time.sleep(POLL_S)
            rows = self._segment_rows()
            after = None if rows is None else len(rows)
            if segments is None or after is None or after >= segments:
                return
            log.info("compacted %s: %d segments -> %d", self.name, segments, after)
            if sum(r < max(rows) / 2 for r in rows) < 2:
                return
            segments = after

    def index_scalar_fields(self) -> None:
        """Scalar indexes for the filters (pos, min_freq), where this Milvus has them and
        the collection is not loaded yet (a load made before them keeps filtering by scan).
        Asked for, not waited for: a load does not wait for them either, and a wait would
        queue behind any vector index Milvus is building (another collection's too)."""
        for field, index_type in SCALAR_INDEXES:
            if self.client.list_indexes(self.name, field_name=field):
                continue
            index = self.client.prepare_index_params()
            index.add_index(field_name=field, index_type=index_type)
            try:
                self.client.create_index(self.name, index, sync=False)
            except Exception as exc:  # Milvus Lite and loaded collections refuse: filters scan
                log.info("no %s index on %s.%s (%s): filters on it scan", index_type, self.name, field, exc)

    def _segment_count(self) -> int | None:
        """Flushed segments of the collection (None where Milvus cannot tell: Milvus Lite)."""
        rows = self._segment_rows()
        return None if rows is None else len(rows)

    def _segment_rows(self) -> list[int] | None:
        """Rows of each flushed segment (None where Milvus cannot tell: Milvus Lite)."""
        try:
            return [int(s.num_rows) for s in self.client.list_persistent_segments(self.name)]
        except Exception:  # Milvus Lite does not implement it
            return None

    def create_index(self) -> None:
        """Ask Milvus for the vector index (HNSW/IP by default) unless it exists; returns at once."""
        s = self.settings
        if self.has_index():
            return
        index = self.client.prepare_index_params()
        index.add_index(
            field_name=VECTOR_FIELD,
            index_type=s.index_type,
            metric_type=METRIC,
            params={"M": s.hnsw_m, "efConstruction": s.hnsw_ef_construction},
        )
        self.client.create_index(self.name, index, sync=False)
        log.info(
            "building the index of %s: %s M=%d efConstruction=%d, %s",
            self.name,
            s.index_type,
            s.hnsw_m,
            s.hnsw_ef_construction,
            METRIC,
        )

    def build_index(self, progress_every_s: float = PROGRESS_EVERY_S) -> None:
        """Create the vector index unless it exists, and wait until every row is indexed."""
        # Right after create_index Milvus may report nothing pending yet: wait for every
        # flushed row to be counted as indexed (or, as segments too small to index never
        # are, for the index to stay finished with nothing pending for a moment).
        rows = int(self.client.get_collection_stats(self.name).get("row_count", 0))
        self.create_index()
        t0 = last = time.monotonic()
        while True:
            info = self.client.describe_index(self.name, VECTOR_FIELD)
            if str(info.get("state")) == "Failed":
                raise StoreError(
                    f"Milvus failed to build the index of {self.name}: {info.get('index_state_fail_reason')}"
                )
            indexed = int(info.get("indexed_rows", 0))
            settled = str(info.get("state")) == "Finished" and time.monotonic() - t0 > INDEX_SETTLE_S
            if info.get("pending_index_rows", 0) == 0 and (indexed >= rows or settled):
                break
            if time.monotonic() - last >= progress_every_s:
                last = time.monotonic()
                log.info("indexing %s: %d of %d rows indexed (%.0f s)", self.name, indexed, rows, last - t0)
            time.sleep(POLL_S)
        log.info("index of %s built in %.1f s", self.name, time.monotonic() - t0)
