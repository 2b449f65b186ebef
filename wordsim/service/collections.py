"""Every served collection, each with its own encoder, store, answer cache and batcher.

``lifecycle`` opens the default collection (``app.ctx.encoder``, ``store``, ``cache``,
``batcher``, unchanged); the listeners here run after it and add the collections of
``WORDSIM_COLLECTIONS``: ``app.ctx.collections`` maps every name, the default first, to a
:class:`Served`. Each collection is checked at start like the default one (it exists,
was built with the model loaded here, has its index) and kept loaded by its own watch.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from sanic import Sanic
from sanic.exceptions import BadRequest

from wordsim.service.batcher import QueryBatcher
from wordsim.service.cache import AnswerCache
from wordsim.service.lifecycle import new_batcher, run_blocking
from wordsim.service.status import index_progress
from wordsim.settings import Settings
from wordsim.store.calibration import Calibration, read_calibration
from wordsim.store.connection import StoreError

log = logging.getLogger("wordsim.server")

WATCH_TASK = "watch_other_collections"
WARM_UP_TEXT = "预热分词"
"""Encoded once at start: loads jieba's dictionary before the first request needs it."""


@dataclass
class Served:
    """One collection as a worker serves it."""

    name: str
    kind: str
    encoder: Any
    store: Any
    cache: AnswerCache
    batcher: QueryBatcher
    calibration: Calibration | None
    is_default: bool = False
    rows: int | None = None
    """Rows as last counted (the default collection's are in ``app.ctx.status``)."""
    index: dict | None = None
    """Its vector index as last described (the default collection's: ``app.ctx.status``)."""

    @property
    def reports_sources(self) -> bool:
        """The encoder can say per text whether its fallback was used (static tables)."""
        return hasattr(self.encoder, "encode_with_sources")


def open_collection(settings: Settings, name: str, kind: str, encoder=None, store=None):
    """(encoder, store) of one collection, refusing a missing or mismatched one."""
    from wordsim.model.kinds import open_encoder
    from wordsim.store.collection import WordStore

    settings = settings.replace(collection=name)
    if encoder is None:
        encoder = open_encoder(settings, kind, threads=settings.encoder_threads or 1)
        encoder.encode([WARM_UP_TEXT])
    if store is None:
        store = WordStore.open(settings)
    if not store.exists():
        store.close()
        raise StoreError(
            f"collection {name!r} ({kind}) does not exist in {settings.milvus_uri}: load it first with "
            f"python insert_data_to_milvus.py --collection {name}  (or --all-collections)"
        )
    store.check_model(encoder.fingerprint)
    store.require_index()
    store.ensure_loaded()
    return encoder, store


def open_others(settings: Settings) -> dict[str, tuple[Any, Any]]:
    """Open every non-default collection (the server's preflight does this once)."""
    opened: dict[str, tuple[Any, Any]] = {}
    try:
        for name, kind in settings.served_collections[1:]:
            opened[name] = open_collection(settings, name, kind)
    except Exception:
        for _, store in opened.values():
            store.close()
        raise
    return opened


def _calibration_of(store) -> Calibration | None:
    try:
        return read_calibration(store.properties())
    except Exception as exc:  # a store without properties (a test's fake): no calibration
        log.debug("no calibration for %s: %s", getattr(store, "name", "?"), exc)
        return None


def _served(app: Sanic, name: str, kind: str, encoder, store, cache, batcher, is_default=False) -> Served:
    return Served(name, kind, encoder, store, cache, batcher, _calibration_of(store), is_default)


async def open_collections(app: Sanic) -> None:
    """After ``lifecycle.open_worker``: the default collection and the others, by name."""
    ctx, settings = app.ctx, app.ctx.settings
    default_name, default_kind = settings.served_collections[0]
    default = await run_blocking(
        app, _served, app, default_name, default_kind, ctx.encoder, ctx.store, ctx.cache, ctx.batcher, True
    )
    ctx.collections = {default_name: default}
    given = getattr(ctx, "other_backends", None) or {}
    ctx.owned_collections = []
    for name, kind in settings.served_collections[1:]:
        encoder, store = given.get(name, (None, None))
        if store is None:
            encoder, store = await run_blocking(app, open_collection, settings, name, kind, encoder)
            ctx.owned_collections.append(name)
        batcher = new_batcher(app, encoder, store)
        cache = AnswerCache(settings.answer_cache_size)
        served = await run_blocking(app, _served, app, name, kind, encoder, store, cache, batcher)
        served.rows = await run_blocking(app, store.count)
        served.index = await run_blocking(app, index_progress, store, None, True)
        ctx.collections[name] = served


async def start_watch(app: Sanic) -> None:
    if len(app.ctx.collections) > 1:
        app.add_task(watch_others(app), name=WATCH_TASK)


async def watch_others(app: Sanic) -> None:
    """Keep the other collections loaded and their caches fresh (the default collection
    has the same watch in ``lifecycle``)."""
    loop = asyncio.get_running_loop()
    while True:
        for served in list(app.ctx.collections.values())[1:]:
            try:
                await loop.run_in_executor(None, served.store.ensure_loaded)
                changed = served.cache.observe(await loop.run_in_executor(None, served.store.generation))
                if changed:
                    served.calibration = await loop.run_in_executor(None, _calibration_of, served.store)
                    served.rows = await loop.run_in_executor(None, served.store.count)
                served.index = await loop.run_in_executor(
                    None, index_progress, served.store, served.index, changed
                )
            except Exception as exc:  # Milvus down: searches answer 503 meanwhile
                log.warning("collection %s check failed: %s", served.name, str(exc)[:200])
        await asyncio.sleep(app.ctx.settings.cache_check_interval_s)


async def stop_watch(app: Sanic) -> None:
    await app.cancel_task(WATCH_TASK, raise_exception=False)


async def close_collections(app: Sanic) -> None:
    for name in getattr(app.ctx, "owned_collections", []):
        app.ctx.collections[name].store.close()


def attach_collection_listeners(app: Sanic) -> None:
    """Register after ``lifecycle.attach_listeners`` (listeners run in that order)."""
    app.before_server_start(open_collections)
    app.after_server_start(start_watch)
    app.before_server_stop(stop_watch)
    app.after_server_stop(close_collections)


def pick(ctx, name: str | None) -> Served:
    """The collection ``name`` (None = the default), or 400 naming the served ones."""
    collections: dict[str, Served] = ctx.collections
    if name is None:
        return next(iter(collections.values()))
    served = collections.get(name)
    if served is None:
        known = ", ".join(collections)
        raise BadRequest(f"unknown collection {name!r}; this service has: {known}")
    return served


def collections_health(ctx) -> list[dict[str, Any]]:
    """Name, kind, model fingerprint and rows of every collection, the default first, as
    last counted by the background checks (no Milvus call)."""
    return [
        {
            "name": served.name,
            "kind": served.kind,
            "model": served.encoder.fingerprint,
            "rows": ctx.status.rows if served.is_default else served.rows,
            "index": ctx.status.index if served.is_default else served.index,
        }
        for served in ctx.collections.values()
    ]
