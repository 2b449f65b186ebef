"""Per-worker start and stop: open every served collection (the default one first), keep
each loaded and its state fresh with one refresh loop, close what was opened.

Listeners are module functions over ``app.ctx``; :func:`attach_listeners` registers them.
Backends handed to ``create_app`` (the single-process server's preflight, tests) are used
as given and not closed here.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import logging
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sanic import Sanic

from wordsim.service import metrics
from wordsim.service.admission import Admission
from wordsim.service.batcher import QueryBatcher
from wordsim.service.cache import AnswerCache
from wordsim.service.connections import GuardedHttpProtocol, connection_cap
from wordsim.service.served import ServedCollection, encode_texts
from wordsim.settings import Settings, configure_logging
from wordsim.store.connection import StoreError

log = logging.getLogger("wordsim.server")

REFRESH_TASK = "refresh_collections"
WARM_UP_TEXT = "预热分词"

Backends = dict[str, tuple[Any, Any]]
"""Collection name -> (encoder, store)."""


def open_collection(settings: Settings, name: str, kind: str, encoder=None, store=None) -> tuple[Any, Any]:
    """(encoder, store) of one collection, refusing a missing or mismatched one."""
    from wordsim.model.kinds import open_encoder
    from wordsim.store.collection import WordStore

    settings = settings.replace(collection=name)
    if encoder is None:
        # One inference thread per call: the executor's threads give the parallelism.
        encoder = open_encoder(settings, kind, threads=settings.encoder_threads or 1)
        warm_up(encoder, settings)
    if store is None:
        store = WordStore.open(settings)
    try:
        if not store.exists():
            raise StoreError(
                f"collection {name!r} ({kind}) does not exist in {settings.milvus_uri}: load it first "
                f"with python insert_data_to_milvus.py --collection {name}  (or --all-collections)"
            )
        store.check_model(encoder.fingerprint)
        store.require_index()
        store.ensure_loaded()
    except Exception:
        store.close()
        raise
    return encoder, store


def warm_up(encoder, settings: Settings) -> None:
    """Encode the largest batch the service will ever encode: what a first query loads
    (jieba's dictionary, the session) is loaded now, and the encoder's memory arena grows to
    its peak at start, not under the first long list a client sends (a worker's memory is
    then what it is from the start)."""
    longest = (WARM_UP_TEXT * settings.max_text_chars)[: settings.max_text_chars]
    encoder.encode([WARM_UP_TEXT])
    encoder.encode([longest] * settings.max_batch)


def open_backends(settings: Settings) -> Backends:
    """Open every served collection, the default first (the server's preflight does this
    once, so a wrong model or a missing collection stops it with one message)."""
    opened: Backends = {}
    try:
        for name, kind in settings.served_collections:
            opened[name] = open_collection(settings, name, kind)
    except Exception:
        close_backends(opened)
        raise
    quiet_milvus_client()
    return opened


def quiet_milvus_client() -> None:
    """pymilvus logs a full traceback for every failed RPC; while Milvus is down that would
    be dozens of lines per request. The service logs one line per failure instead. Called
    once pymilvus is imported: its import configures its loggers anew."""
    logging.getLogger("pymilvus.decorators").setLevel(logging.CRITICAL)


def close_backends(backends: Backends) -> None:
    for _, store in backends.values():
        store.close()


async def run_blocking(app: Sanic, fn, *args):
    """``fn(*args)`` on the app's bounded executor, never on the event loop."""
    return await asyncio.get_running_loop().run_in_executor(app.ctx.executor, fn, *args)


def serve(
    settings: Settings, executor, name: str, kind: str, encoder, store, owned: bool
) -> ServedCollection:
    """A collection as this worker serves it: its own cache and batcher on the worker's executor."""
    meter = metrics.for_collection(name)
    batcher = QueryBatcher(
        functools.partial(encode_texts, encoder),
        store.search_many,
        executor,
        max_batch=settings.max_batch,
        max_in_flight=settings.batches_in_flight or settings.executor_threads,
        meter=meter,
    )
    cache = AnswerCache(settings.answer_cache_size, meter, int(settings.answer_cache_mb * (1 << 20)))
    return ServedCollection(name, kind, encoder, store, cache, batcher, meter, owned)


async def open_worker(app: Sanic) -> None:
    configure_logging()  # a worker process of its own (WORDSIM_WORKERS > 1) starts without it
    ctx, settings = app.ctx, app.ctx.settings
    GuardedHttpProtocol.configure(connection_cap(settings.max_connections))
    ctx.admission = Admission(settings.max_client_requests, settings.heavy_in_flight, settings.heavy_queue)
    ctx.executor = ThreadPoolExecutor(settings.executor_threads, thread_name_prefix="wordsim")
    given: Backends = ctx.backends or {}
    ctx.collections = {}
    for name, kind in settings.served_collections:
        encoder, store = given.get(name) or await run_blocking(app, open_collection, settings, name, kind)
        served = serve(settings, ctx.executor, name, kind, encoder, store, owned=name not in given)
        ctx.collections[name] = served
        await run_blocking(app, served.refresh)
        served.cache.observe(served.generation)
    quiet_milvus_client()


async def refresh_all(collections: Iterable[ServedCollection], run: Callable[..., Awaitable]) -> None:
    """One round of the refresh loop: each collection refreshed (``run(fn)`` runs the
    blocking call off the loop); a failure is recorded on its collection only."""
    for served in collections:
        try:
            changed = await run(served.refresh)
        except Exception as exc:  # Milvus down: its searches answer 503 meanwhile
            served.failed(str(exc)[:200])
            log.warning("collection %s check failed (Milvus unavailable?): %s", served.name, str(exc)[:200])
            continue
        if changed and served.refusal:
            log.error("%s", served.refusal)
        if served.cache.observe(served.generation):
            log.info("collection %s changed: answer cache emptied", served.name)


async def refresh_loop(app: Sanic) -> None:
    """Keep every collection loaded, its counts fresh for /health, and its answer cache
    emptied whenever it changes. On the loop's default executor, so a long reload never
    takes a request thread."""
    loop = asyncio.get_running_loop()

    def run(fn):
        return loop.run_in_executor(None, fn)

    while True:
        await asyncio.sleep(app.ctx.settings.cache_check_interval_s)
        await refresh_all(list(app.ctx.collections.values()), run)
        release_free_memory()


def release_free_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc keeps them otherwise): after a
    burst of large answers, the worker's RSS comes back down instead of staying at its peak."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _malloc_trim():
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None


async def start_refresh(app: Sanic) -> None:
    app.add_task(refresh_loop(app), name=REFRESH_TASK)


async def stop_refresh(app: Sanic) -> None:
    await app.cancel_task(REFRESH_TASK, raise_exception=False)


async def close_worker(app: Sanic) -> None:
    app.ctx.executor.shutdown(wait=True)
    for served in app.ctx.collections.values():
        if served.owned:
            served.store.close()


def attach_listeners(app: Sanic) -> None:
    app.before_server_start(open_worker)
    app.after_server_start(start_refresh)
    app.before_server_stop(stop_refresh)
    app.after_server_stop(close_worker)
