"""The collection as the server uses it: is it the right one, is it loaded, how many rows,
and the nearest words of some vectors."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from wordsim.settings import Settings
from wordsim.store import connection
from wordsim.store.connection import ModelMismatchError, StoreError
from wordsim.store.schema import (
    METRIC,
    OUTPUT_FIELDS,
    PROP_MODEL,
    PROP_SOURCE_ROWS,
    PROP_WORDS_VERSION,
    VECTOR_FIELD,
    Hit,
    SearchSpec,
)

if TYPE_CHECKING:
    from pymilvus import MilvusClient

log = logging.getLogger("wordsim.store")

LITE_FILTER_EF = 4096
"""HNSW candidates a filtered search asks Milvus Lite for."""
MAX_CACHED_PARAMS = 256
"""Kinds of search (limit, filtered, radius) whose ``search_params`` are kept: the radius
comes from a client's threshold, so the kinds are bounded."""


class WordStore:
    """One collection of word vectors in one Milvus."""

    def __init__(self, client: MilvusClient, settings: Settings, name: str | None = None) -> None:
        self.client = client
        self.settings = settings
        self.name = name or settings.collection
        """The collection or alias read: the service reads the alias, the ingest a version."""
        self._params: dict[tuple, dict] = {}
        self._output_fields: dict[tuple[str, ...], list[str]] = {}

    @classmethod
    def open(cls, settings: Settings):
        return cls(connection.connect(settings), settings)

    def close(self) -> None:
        connection.close(self.client, self.settings)

    # --- identity and state -------------------------------------------------------------
    def exists(self) -> bool:
        return bool(self.client.has_collection(self.name))

    def properties(self) -> dict[str, str]:
        return dict(self.client.describe_collection(self.name).get("properties") or {})

    def model_fingerprint(self, properties: dict[str, str] | None = None) -> str | None:
        """The model the vectors were built with (from ``properties`` when already read)."""
        return (self.properties() if properties is None else properties).get(PROP_MODEL)

    def source_rows(self, properties: dict[str, str] | None = None) -> int | None:
        raw = (self.properties() if properties is None else properties).get(PROP_SOURCE_ROWS)
        return int(raw) if raw else None

    def check_model(self, fingerprint: str) -> None:
        """Raise :class:`ModelMismatchError` unless the collection was built with ``fingerprint``."""
        built_with = self.model_fingerprint()
        if built_with != fingerprint:
            raise ModelMismatchError(
                f"collection {self.name!r} was built with model {built_with or 'unknown'}, but the "
                f"encoder loaded here is {fingerprint}: their vectors are not comparable. Either point "
                f"WORDSIM_MODEL_DIR at the model the collection was built with, or rebuild the "
                f"collection with this model: python insert_data_to_milvus.py --collection "
                f"{self.settings.collection} --rebuild (the current version keeps serving meanwhile; "
                "--drop loads from scratch)"
            )

    def has_index(self) -> bool:
        return bool(self.client.list_indexes(self.name, field_name=VECTOR_FIELD))

    def index_state(self) -> dict[str, object]:
        """The vector index as Milvus describes it: its type, how many rows it covers, and
        ``built`` or ``building``. While it builds, Milvus searches the rows it does not
        cover yet exhaustively (exact, slower), and swaps each segment's index in when built."""
        info = self.client.describe_index(self.name, VECTOR_FIELD, timeout=self.settings.milvus_timeout_s)
        indexed = int(info.get("indexed_rows", 0))
        total = int(info.get("total_rows", 0)) or indexed
        building = int(info.get("pending_index_rows", 0)) > 0 or indexed < total
        return {
            "type": info.get("index_type"),
            "state": "building" if building or str(info.get("state")) == "InProgress" else "built",
            "indexed_rows": indexed,
            "rows": total,
        }

    def require_index(self) -> None:
        """Raise :class:`StoreError` when the collection has no index: its bulk load stopped
        before the index was built (Milvus Lite would search it, by brute force)."""
        if not self.has_index():
            raise StoreError(
                f"collection {self.name!r} has no index yet: its load has not finished. "
                "Run python insert_data_to_milvus.py (it continues where it stopped)."
            )

    def generation(self) -> tuple[object, ...]:
        """Changes whenever the collection is rebuilt or switched, or rows are written: the
        physical collection's name and id, its row count and the version of the words added
        through the API (metadata only, no scan)."""
        timeout = self.settings.milvus_timeout_s
        desc = self.client.describe_collection(self.name, timeout=timeout)
        rows = self.client.get_collection_stats(self.name, timeout=timeout).get("row_count", 0)
        words_version = (desc.get("properties") or {}).get(PROP_WORDS_VERSION)
        return desc.get("collection_name"), desc.get("collection_id"), int(rows), words_version

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
        res = self.client.query(
            self.name,
            filter=_id_filter(id_from, id_to),
            output_fields=["count(*)"],
            consistency_level="Strong",
            timeout=self.settings.milvus_timeout_s,
        )
        return int(res[0]["count(*)"])

    def ids_between(self, id_from: int, id_to: int) -> list[int]:
        res = self.client.query(
            self.name, filter=_id_filter(id_from, id_to), output_fields=["id"], consistency_level="Strong"
        )
        return sorted(int(r["id"]) for r in res)

    def fetch(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        """Rows (id, text, vector) for ``ids``, for checks and tests."""
        return list(self.client.get(self.name, ids=list(ids), output_fields=["id", "text", VECTOR_FIELD]))

    # --- search -------------------------------------------------------------------------
    def search(self, vector: np.ndarray, spec: SearchSpec | int) -> list[Hit]:
        """The nearest words by inner product, best first (ties by id)."""
        return self.search_many(vector[None, :], spec)[0]

    def search_many(self, vectors: np.ndarray, spec: SearchSpec | int) -> list[list[Hit]]:
        """One Milvus search for several query vectors (nq = len(vectors)); ``spec`` may be
        just a number of hits."""
        spec = SearchSpec(spec) if isinstance(spec, int) else spec
        fields = self._output_fields.get(spec.fields) or self._fields_for(spec.fields)
        res = self.client.search(
            self.name,
            data=vectors.tolist(),  # one conversion for the batch (pymilvus packs lists fastest)
            limit=spec.limit,
            filter=spec.expr,
            output_fields=fields,
            search_params=self._search_params(spec),
            timeout=self.settings.milvus_timeout_s,
        )
        return [_hits(found, fields) for found in res]

    def _fields_for(self, extra: tuple[str, ...]) -> list[str]:
        fields = self._output_fields[extra] = [*OUTPUT_FIELDS, *extra]
        return fields

    def _search_params(self, spec: SearchSpec) -> dict:
        """The ``search_params`` of ``spec``, built once per kind of search (pymilvus copies
        them, never changes them)."""
        key = (spec.limit, bool(spec.expr), spec.radius)
        params = self._params.get(key)
        if params is None:
            inner: dict = {"ef": max(self.settings.search_ef, spec.limit)}
            if self.settings.is_milvus_lite:
                if spec.expr:
                    # Milvus Lite filters HNSW's candidate list, so a narrow filter would leave few
                    # hits; more candidates keep them (the server filters inside the graph search).
                    inner["ef"] = max(inner["ef"], LITE_FILTER_EF)
            elif spec.radius is not None:
                inner["radius"] = spec.radius  # range search; Milvus Lite has none: the caller filters
            params = {"metric_type": METRIC, "params": inner}
            if len(self._params) < MAX_CACHED_PARAMS:
                self._params[key] = params
        return params


def _hits(found, fields: list[str]) -> list[Hit]:
    """pymilvus' hits of one query as ours, best first (ties by id)."""
    hits = []
    for h in found:
        entity = h["entity"]
        hits.append(Hit(int(h["id"]), float(h["distance"]), **{k: entity[k] for k in fields}))
    hits.sort(key=_rank)
    return hits


def _rank(h: Hit) -> tuple[float, int]:
    return -h.distance, h.id


def _id_filter(id_from: int | None, id_to: int | None) -> str:
    """A Milvus expression for ``id_from <= id <= id_to`` from integers only."""
    parts = []
    if id_from is not None:
        parts.append(f"id >= {int(id_from)}")
    if id_to is not None:
        parts.append(f"id <= {int(id_to)}")
    return " and ".join(parts) or "id >= 0"
