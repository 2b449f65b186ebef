"""The Milvus collection of words: schema, index, model identity, counts and search.

Everything goes through ``pymilvus.MilvusClient``, so the same code serves Milvus Lite
(a ``.db`` file), the local Milvus server and any remote Milvus.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pymilvus import DataType, MilvusClient

from config import Settings

log = logging.getLogger("wordsim.store")

TEXT_MAX_BYTES = 256
"""VARCHAR ``max_length`` counts UTF-8 bytes: 256 holds an 85-character Chinese word."""
POS_MAX_BYTES = 16
PROP_MODEL = "wordsim.model"
PROP_DIM = "wordsim.dim"
PROP_SOURCE_ROWS = "wordsim.source_rows"
OUTPUT_FIELDS = ["text"]
VECTOR_FIELD = "vector"
POLL_S = 0.5
PROGRESS_EVERY_S = 30.0
COMPACT_TIMEOUT_S = 600.0
INDEX_SETTLE_S = 5.0


class StoreError(RuntimeError):
    """Milvus is unreachable or the collection is unusable; the message says what to do."""


class ModelMismatchError(StoreError):
    """The collection was built with another model than the one loaded."""


@dataclass(frozen=True)
class Hit:
    id: int
    distance: float
    text: str


def connect(settings: Settings) -> MilvusClient:
    """A client for ``settings.milvus_uri``, with errors that say what to do."""
    if settings.is_milvus_lite:
        # Milvus Lite's in-process gRPC server logs a traceback for every RPC it does not
        # implement (pymilvus probes AllocTimestamp); the call itself succeeds.
        logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
    if settings.is_milvus_lite and _lite_locked(settings.milvus_uri):
        raise StoreError(
            f"Milvus Lite database {settings.milvus_uri} is open in another process; only one "
            "process may open it at a time. Stop the other process (server or ingest), or use "
            "a Milvus server (make run starts one)."
        )
    try:
        return MilvusClient(
            uri=settings.milvus_uri, token=settings.milvus_token, timeout=settings.milvus_timeout_s
        )
    except Exception as exc:  # pymilvus raises MilvusException, grpc and OS errors alike
        where = settings.milvus_uri if settings.is_milvus_lite else f"Milvus at {settings.milvus_uri}"
        raise StoreError(f"cannot connect to {where}: {exc}") from exc


def _lite_locked(path: str) -> bool:
    """Whether another process holds the Milvus Lite database's lock file."""
    import fcntl

    from milvus_lite.server_manager import server_manager_instance

    if os.path.abspath(path) in getattr(server_manager_instance, "_servers", {}):
        return False  # opened by this process: pymilvus reuses it

    try:
        with open(os.path.join(path, "LOCK"), "rb") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fh, fcntl.LOCK_UN)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


def build_schema(dim: int) -> Any:
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True, description="0-based line number in the source")
    schema.add_field("text", DataType.VARCHAR, max_length=TEXT_MAX_BYTES)
    schema.add_field("freq", DataType.INT64)
    schema.add_field("pos", DataType.VARCHAR, max_length=POS_MAX_BYTES)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    return schema


class WordStore:
    """One collection of word vectors in one Milvus."""

    def __init__(self, client: MilvusClient, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.name = settings.collection

    @classmethod
    def open(cls, settings: Settings) -> WordStore:
        return cls(connect(settings), settings)

    # --- collection lifecycle ---------------------------------------------------------
    def exists(self) -> bool:
        return bool(self.client.has_collection(self.name))

    def drop(self) -> None:
        if self.exists():
            self.client.drop_collection(self.name)
            log.info("dropped collection %s", self.name)

    def create(self, dim: int, model_fingerprint: str, source_rows: int) -> None:
        """Create the collection and record the model; no index yet. A bulk load inserts
        first and then builds the index once (:meth:`build_index`), instead of indexing
        small segments during the insert and again after Milvus merges them."""
        self.client.create_collection(
            self.name,
            schema=build_schema(dim),
            consistency_level="Bounded",
            properties={
                PROP_MODEL: model_fingerprint,
                PROP_DIM: str(dim),
                PROP_SOURCE_ROWS: str(source_rows),
            },
        )
        log.info("created collection %s (dim %d)", self.name, dim)

    def has_index(self) -> bool:
        return bool(self.client.list_indexes(self.name, field_name=VECTOR_FIELD))

    def require_index(self) -> None:
        """Raise :class:`StoreError` when the collection has no index: its bulk load stopped
        before the index was built (Milvus Lite would search it, by brute force)."""
        if not self.has_index():
            raise StoreError(
                f"collection {self.name!r} has no index yet: its load has not finished. "
                "Run python insert_data_to_milvus.py (it continues where it stopped)."
            )

    def compact(self, timeout_s: float = COMPACT_TIMEOUT_S) -> None:
        """Merge the small segments an insert leaves behind: fewer segments to search, and
        the index built once per final segment. Passes repeat while they reduce the
        segment count. (Measured on the full dictionary: the first pass leaves 327,680 +
        21,366 rows, and a pass right after it merges nothing more, so 2 segments get
        indexed. Milvus, where configured to merge on its own, may merge them later and
        rebuild their index.)"""
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
            after = self._segment_count()
            if segments is None or after is None or after >= segments:
                return
            log.info("compacted %s: %d segments -> %d", self.name, segments, after)
            segments = after

    def _segment_count(self) -> int | None:
        """Flushed segments of the collection (None where Milvus cannot tell: Milvus Lite)."""
        try:
            return len(self.client.list_persistent_segments(self.name))
        except Exception:  # Milvus Lite does not implement it
            return None

    def build_index(self, progress_every_s: float = PROGRESS_EVERY_S) -> None:
        """Create the HNSW/IP index unless it exists, and wait until every row is indexed."""
        s = self.settings
        # Right after create_index Milvus may report nothing pending yet: wait for every
        # flushed row to be counted as indexed (or, as segments too small to index never
        # are, for the index to stay finished with nothing pending for a moment).
        rows = int(self.client.get_collection_stats(self.name).get("row_count", 0))
        if not self.has_index():
            index = self.client.prepare_index_params()
            index.add_index(
                field_name=VECTOR_FIELD,
                index_type=s.index_type,
                metric_type="IP",
                params={"M": s.hnsw_m, "efConstruction": s.hnsw_ef_construction},
            )
            self.client.create_index(self.name, index, sync=False)  # waited for below, with progress
            log.info(
                "building the index of %s: %s M=%d efConstruction=%d, IP",
                self.name,
                s.index_type,
                s.hnsw_m,
                s.hnsw_ef_construction,
            )
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
                log.info(
                    "indexing %s: %d of %d rows indexed (%.0f s)",
                    self.name,
                    indexed,
                    rows,
                    last - t0,
                )
            time.sleep(POLL_S)
        log.info("index of %s built in %.1f s", self.name, time.monotonic() - t0)

    def properties(self) -> dict[str, str]:
        return dict(self.client.describe_collection(self.name).get("properties") or {})

    def model_fingerprint(self) -> str | None:
        return self.properties().get(PROP_MODEL)

    def source_rows(self) -> int | None:
        raw = self.properties().get(PROP_SOURCE_ROWS)
        return int(raw) if raw else None

    def check_model(self, fingerprint: str) -> None:
        """Raise :class:`ModelMismatchError` unless the collection was built with ``fingerprint``."""
        built_with = self.model_fingerprint()
        if built_with != fingerprint:
            raise ModelMismatchError(
                f"collection {self.name!r} was built with model {built_with or 'unknown'}, but the "
                f"encoder loaded here is {fingerprint}: their vectors are not comparable. Either point "
                f"WORDSIM_MODEL_DIR at the model the collection was built with, or rebuild the "
                f"collection with this model: python insert_data_to_milvus.py --drop"
            )

    def generation(self) -> tuple[object, int]:
        """Changes whenever the collection is rebuilt or rows are written: its id and
        row count (metadata only, no scan)."""
        timeout = self.settings.milvus_timeout_s
        desc = self.client.describe_collection(self.name, timeout=timeout)
        rows = self.client.get_collection_stats(self.name, timeout=timeout).get("row_count", 0)
        return desc.get("collection_id"), int(rows)

    def ensure_loaded(self) -> None:
        """Load the collection unless it is loaded (a restarted Milvus may have released it)."""
        state = self.client.get_load_state(self.name, timeout=self.settings.milvus_timeout_s).get("state")
        if str(state).rsplit(".", 1)[-1] != "Loaded":
            self.require_index()
            log.info("loading collection %s (state %s)", self.name, state)
            self.client.load_collection(self.name)

    # --- rows ---------------------------------------------------------------------------
    def count(self, id_from: int | None = None, id_to: int | None = None) -> int:
        """Rows with ``id_from <= id <= id_to`` (all rows by default), strongly consistent."""
        parts = []
        if id_from is not None:
            parts.append(f"id >= {int(id_from)}")
        if id_to is not None:
            parts.append(f"id <= {int(id_to)}")
        res = self.client.query(
            self.name,
            filter=" and ".join(parts) or "id >= 0",
            output_fields=["count(*)"],
            consistency_level="Strong",
            timeout=self.settings.milvus_timeout_s,
        )
        return int(res[0]["count(*)"])

    def write(self, rows: list[dict[str, Any]], *, upsert: bool) -> None:
        """Insert rows, or upsert them where some ids may already be present."""
        if upsert:
            self.client.upsert(self.name, rows)
        else:
            self.client.insert(self.name, rows)

    def flush(self) -> None:
        if not self.settings.is_milvus_lite:
            self.client.flush(self.name)

    def ids_between(self, id_from: int, id_to: int) -> list[int]:
        res = self.client.query(
            self.name,
            filter=f"id >= {int(id_from)} and id <= {int(id_to)}",
            output_fields=["id"],
            consistency_level="Strong",
        )
        return sorted(int(r["id"]) for r in res)

    def fetch(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        """Rows (id, text, vector) for ``ids``, for checks and tests."""
        return list(self.client.get(self.name, ids=list(ids), output_fields=["id", "text", "vector"]))

    # --- search -------------------------------------------------------------------------
    def search(self, vector: np.ndarray, top_k: int) -> list[Hit]:
        """The ``top_k`` nearest words by inner product, best first (ties by id)."""
        return self.search_many(vector[None, :], top_k)[0]

    def search_many(self, vectors: np.ndarray, top_k: int) -> list[list[Hit]]:
        """One Milvus search for several query vectors (nq = len(vectors))."""
        res = self.client.search(
            self.name,
            data=[v.tolist() for v in vectors],
            limit=top_k,
            output_fields=OUTPUT_FIELDS,
            search_params={"metric_type": "IP", "params": {"ef": max(self.settings.search_ef, top_k)}},
            timeout=self.settings.milvus_timeout_s,
        )
        out = []
        for found in res:
            hits = [Hit(int(h["id"]), float(h["distance"]), h["entity"]["text"]) for h in found]
            hits.sort(key=lambda h: (-h.distance, h.id))
            out.append(hits)
        return out

    def close(self) -> None:
        """Close the client; for Milvus Lite also release the file lock, so another
        process (the server after an ingest, a test's subprocess) may open the database."""
        try:
            self.client.close()
            if self.settings.is_milvus_lite:
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(self.settings.milvus_uri)
        except Exception:  # closing a dead connection must not mask the real error
            log.debug("closing Milvus client failed", exc_info=True)
