"""Which collection version an ingest run loads into, and the switch that ends a rebuild
(the alias itself: ``wordsim/store/versions.py``)."""

from __future__ import annotations

import logging
import time

from wordsim.settings import Settings
from wordsim.store.schema import ADDED_ID_OFFSET

log = logging.getLogger("wordsim.ingest")
MAX_ADDED_WORDS = 16384
"""Most words added through the API that a rebuild carries over (one Milvus query)."""


def choose_target(client, settings: Settings, options, fingerprint: str):
    """The collection version to load (a :class:`WordLoader`), and the one it replaces once
    complete (``--rebuild``) or None."""
    from wordsim.store import versions
    from wordsim.store.bulk_load import WordLoader

    alias = settings.collection
    current = versions.served(client, alias)
    if options.drop and current is not None:
        added = WordLoader(client, settings, current).added_words()
        versions.drop_all(client, alias)
        log.info("dropped %s; words added through the API removed with it: %s", alias, added)
        current = None
    if current is None:  # a fresh load serves its collection from the start
        return WordLoader(client, settings, versions.next_version(client, alias), alias=alias), None
    rebuild = options.rebuild
    if not rebuild and options.rebuild_if_changed:
        built_with = WordLoader(client, settings, current).model_fingerprint()
        if built_with != fingerprint:  # another model, or another vocabulary rule: load it anew
            log.info("%s holds vectors of %s, not %s: rebuilding it", alias, built_with, fingerprint)
            rebuild = True
    if not rebuild:
        return WordLoader(client, settings, current), None
    # A rebuild stopped earlier left its version unaliased: continue it if it holds this
    # model's vectors, else start over.
    left = [v for v in versions.versions(client, alias) if v != current]
    for i, name in enumerate(left):
        candidate = WordLoader(client, settings, name)
        if i == len(left) - 1 and candidate.model_fingerprint() == fingerprint:
            log.info("continuing the rebuild of %s in %s", alias, name)
            return candidate, current
        client.drop_collection(name)
        log.info("dropped %s, left by an earlier rebuild", name)
    target = versions.next_version(client, alias)
    log.info("rebuilding %s in %s; %s keeps serving until it is complete", alias, target, current)
    return WordLoader(client, settings, target), current


def carry_added_words(client, settings: Settings, model, source: str, target: str) -> None:
    """Copy the words POST /words added to ``source`` into ``target``, encoded anew (the
    rebuild may use another model) by the encoder the load used (``IngestModel``)."""
    from wordsim.store.bulk_load import WordLoader

    old, new = WordLoader(client, settings, source), WordLoader(client, settings, target)
    old.ensure_loaded()
    rows = client.query(
        source,
        filter=f"id >= {ADDED_ID_OFFSET}",
        output_fields=["id", "text", "freq", "pos"],
        limit=MAX_ADDED_WORDS,
    )
    if not rows:
        return
    vectors = model.encoder.encode([r["text"] for r in rows])
    new.write([{**r, "vector": v} for r, v in zip(rows, vectors, strict=True)], upsert=True)
    new.flush()
    log.info("carried %d words added through the API over to %s", len(rows), target)


def switch(client, settings: Settings, model, target: str, replaced: str) -> None:
    """Serve ``target`` instead of ``replaced`` (with the words added through the API carried
    over), then drop ``replaced``."""
    from wordsim.store import versions

    carry_added_words(client, settings, model, replaced, target)
    versions.point(client, settings.collection, target)
    if replaced != settings.collection:  # (a collection made before aliases is gone already)
        # Searches a Milvus proxy routed to the old collection just before the switch end
        # within one Milvus timeout; then nothing reads it.
        time.sleep(settings.milvus_timeout_s)
        client.drop_collection(replaced)
        log.info("dropped %s, replaced by %s", replaced, target)
