"""Per-worker start and stop: open the encoder and the collection, keep the collection
loaded and the answer cache fresh, close what was opened.

Listeners are module functions over ``app.ctx``; :func:`attach_listeners` registers them.
An encoder or store put in ``app.ctx`` before start (tests, the single-process server)
is used as given and not closed here.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from sanic import Sanic

from wordsim.service.batcher import QueryBatcher
from wordsim.service.cache import AnswerCache
from wordsim.service.status import CollectionStatus, refresh
from wordsim.settings import Settings, configure_logging
from wordsim.store.connection import StoreError

log = logging.getLogger("wordsim.server")

WATCH_TASK = "watch_collection"


def open_backends(settings: Settings, encoder=None, store=None):
    """Load the encoder and open the collection, refusing a mismatched or missing one."""
    from wordsim.model.loader import encoder_for
    from wordsim.model.source import resolve_model
    from wordsim.store.collection import WordStore

    if encoder is None:
        # One inference thread per call: the executor's threads give the parallelism.
        encoder = encoder_for(settings, resolve_model(settings), threads=settings.encoder_threads or 1)
    if store is None:
        store = WordStore.open(settings)
    # pymilvus logs a full traceback for every failed RPC; while Milvus is down that would
    # be dozens of lines per request. The service logs one line per failure instead.
    logging.getLogger("pymilvus.decorators").setLevel(logging.CRITICAL)
    if not store.exists():
        raise StoreError(
            f"collection {settings.collection!r} does not exist in {settings.milvus_uri}: "
            "load the words first with python insert_data_to_milvus.py"
        )
    store.check_model(encoder.fingerprint)
    store.require_index()
    store.ensure_loaded()
    return encoder, store


async def run_blocking(app: Sanic, fn, *args):
    """``fn(*args)`` on the app's bounded executor, never on the event loop."""
    return await asyncio.get_running_loop().run_in_executor(app.ctx.executor, fn, *args)


async def open_worker(app: Sanic) -> None:
    configure_logging()  # a worker process of its own (WORDSIM_WORKERS > 1) starts without it
    settings: Settings = app.ctx.settings
    app.ctx.executor = ThreadPoolExecutor(settings.executor_threads, thread_name_prefix="wordsim")
    app.ctx.encoder, app.ctx.store = await run_blocking(
        app, open_backends, settings, app.ctx.encoder, app.ctx.store
    )
    app.ctx.status = CollectionStatus()
    await run_blocking(app, refresh, app.ctx.store, app.ctx.status, app.ctx.encoder.fingerprint)
    app.ctx.cache = AnswerCache(settings.answer_cache_size)
    app.ctx.cache.observe(app.ctx.status.generation)
    app.ctx.batcher = new_batcher(app, app.ctx.encoder, app.ctx.store)


def new_batcher(app: Sanic, encoder, store) -> QueryBatcher:
    """The micro-batcher of one collection, on the worker's bounded executor."""
    settings: Settings = app.ctx.settings
    return QueryBatcher(
        encoder.encode,
        store.search_many,
        app.ctx.executor,
        max_batch=settings.max_batch,
        max_in_flight=settings.batches_in_flight or settings.executor_threads,
    )


async def start_watch(app: Sanic) -> None:
    app.add_task(watch_collection(app), name=WATCH_TASK)


async def watch_collection(app: Sanic) -> None:
    """Keep the collection loaded (a restarted Milvus forgets it), its counts fresh for
    /health, and empty the answer cache whenever the collection changes. Runs on the loop's
    default executor, so a long reload never takes a request thread."""
    loop = asyncio.get_running_loop()
    store, settings, status = app.ctx.store, app.ctx.settings, app.ctx.status
    while True:
        try:
            changed = await loop.run_in_executor(None, refresh, store, status, app.ctx.encoder.fingerprint)
            if changed and status.refusal:
                log.error("%s", status.refusal)
            if app.ctx.cache.observe(status.generation):
                log.info("collection %s changed: answer cache emptied", settings.collection)
        except Exception as exc:  # Milvus down: searches answer 503 meanwhile
            status.failed(str(exc)[:200])
            log.warning("collection check failed (Milvus unavailable?): %s", str(exc)[:200])
        await asyncio.sleep(settings.cache_check_interval_s)


async def stop_watch(app: Sanic) -> None:
    await app.cancel_task(WATCH_TASK, raise_exception=False)


async def close_worker(app: Sanic) -> None:
    app.ctx.executor.shutdown(wait=True)
    if app.ctx.owns_store:
        app.ctx.store.close()


def attach_listeners(app: Sanic) -> None:
    app.before_server_start(open_worker)
    app.after_server_start(start_watch)
    app.before_server_stop(stop_watch)
    app.after_server_stop(close_worker)
