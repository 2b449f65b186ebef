"""What the worker knows of its collection, refreshed in the background, so that /health and
/readyz answer from memory instead of asking Milvus on every call."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

log = logging.getLogger("wordsim.server")


@dataclass
class CollectionStatus:
    """Row counts and reachability as last seen. Written by the watch loop (one thread at a
    time) and by request handlers on the event loop; every field is replaced whole."""

    rows: int | None = None
    source_rows: int | None = None
    generation: object = None
    loaded: bool = False
    ok_at: float | None = None
    """When Milvus last answered (a check or a search), ``time.monotonic()``."""
    failed_at: float | None = None
    """When a check or a search last failed."""
    error: str = ""
    index: dict | None = None
    """The vector index as last described (``WordStore.index_state``): type, state, rows."""
    refusal: str = ""
    """Set when the collection changed under the service to another model's vectors
    (a rebuild with another model): searches answer 503 with it until a restart."""

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


def refresh(store, status: CollectionStatus, fingerprint: str) -> bool:
    """Blocking: make sure the collection is loaded, and recount its rows and check its model
    when it changed (rows written, rebuilt, switched). Returns whether it changed (read from
    metadata; no scan). ``fingerprint``: the model the service encodes queries with."""
    store.ensure_loaded()
    generation = store.generation()
    changed = generation != status.generation
    if changed:
        status.rows, status.source_rows = store.count(), store.source_rows()
        built_with = store.model_fingerprint()
        status.refusal = (
            ""
            if built_with == fingerprint
            else f"collection {store.name} now holds vectors of model {built_with}, but this service "
            f"encodes with {fingerprint}: restart it with that model (WORDSIM_MODEL_DIR)"
        )
        status.generation = generation
    status.index = index_progress(store, status.index, changed)
    status.loaded = True
    status.answered()
    return changed


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
