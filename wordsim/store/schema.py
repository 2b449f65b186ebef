"""The collection's fields, their limits and what a search hit is.

Importing this module does not import pymilvus: the word-list reader needs the limits only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TEXT_MAX_BYTES = 256
"""VARCHAR ``max_length`` counts UTF-8 bytes: 256 holds an 85-character Chinese word."""
POS_MAX_BYTES = 16
VECTOR_FIELD = "vector"
OUTPUT_FIELDS = ["text"]
METRIC = "IP"
"""Inner product: the vectors are unit length, so it is the cosine similarity."""

PROP_MODEL = "wordsim.model"
"""Collection property: fingerprint of the model that encoded the rows."""
PROP_SOURCE_ROWS = "wordsim.source_rows"
"""Collection property: words in the source when the collection was created."""
PROP_WORDS_VERSION = "wordsim.words_version"
"""Collection property: a new random value whenever words are added or deleted through
the API, so that every worker empties its answer cache (row counts do not show it: Milvus
counts deleted rows until compaction, and the server counts only flushed rows)."""

ADDED_ID_OFFSET = 1_000_000_000
"""Ids of words added through the API start here; the source's ids are its line numbers,
below it. Counting ``id < ADDED_ID_OFFSET`` counts the source's words only."""
ADDED_ID_SPAN = 2**52
"""Added ids are ``ADDED_ID_OFFSET + hash(text) mod ADDED_ID_SPAN``: all below 2**53, so a
JavaScript client reads them exactly."""


@dataclass(frozen=True)
class Hit:
    id: int
    distance: float
    text: str
    freq: int | None = None
    pos: str | None = None


@dataclass(frozen=True)
class SearchSpec:
    """One search: how many hits, a Milvus filter expression built from validated values,
    a range-search radius (hits above it only), and extra fields to return."""

    limit: int
    expr: str = ""
    radius: float | None = None
    fields: tuple[str, ...] = ()

    def group(self) -> tuple:
        """Searches that differ only in ``limit`` go to Milvus as one call."""
        return self.expr, self.radius, self.fields


def build_schema(dim: int) -> Any:
    from pymilvus import DataType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True, description="0-based line number in the source")
    schema.add_field("text", DataType.VARCHAR, max_length=TEXT_MAX_BYTES)
    schema.add_field("freq", DataType.INT64)
    schema.add_field("pos", DataType.VARCHAR, max_length=POS_MAX_BYTES)
    schema.add_field(VECTOR_FIELD, DataType.FLOAT_VECTOR, dim=dim)
    return schema
