"""HTTP service: the words closest to a given word, from Milvus.

    python sanic_milvus.py            # serves on WORDSIM_HOST:WORDSIM_PORT (127.0.0.1:8848)
    curl -d usr_input=教师 http://127.0.0.1:8848/vector_similarity

``create_app(settings, encoder=None, store=None)`` builds the app; the encoder and the
Milvus client are made once per worker in ``before_server_start`` unless passed in.
Inference and Milvus calls run in a bounded thread pool, never on the event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

from sanic import Request, Sanic, response
from sanic.exceptions import SanicException, ServiceUnavailable, Unauthorized

from answer_cache import AnswerCache
from api_docs import document_health, document_similarity
from api_input import parse_query
from batcher import QueryBatcher, SearchFailed
from config import Settings, configure_logging, load_settings
from store import Hit, StoreError

log = logging.getLogger("wordsim.server")
access = logging.getLogger("wordsim.access")

RESULT_KEY = "相似度计算的结果为："
JSON_TYPE = "application/json"
APP_NAME = "wordsim"
OPEN_PATHS = frozenset({"/health"})
dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


def format_hits(hits: list[Hit]) -> dict[str, Any]:
    """The original service's answer shape."""
    return {
        RESULT_KEY: {
            f"结果{rank}": {"id": h.id, "distance": h.distance, "fields": {"id": h.id, "text": h.text}}
            for rank, h in enumerate(hits, start=1)
        }
    }


def body_incomplete(request: Request | None) -> bool:
    """The client announced more body bytes than have arrived."""
    if request is None:
        return False
    try:
        announced = int(request.headers.get("content-length", "0"))
    except ValueError:
        return False
    return len(request.body or b"") < announced


def error_body(status: int, message: str) -> response.HTTPResponse:
    return response.json({"ok": False, "error": message, "status": status}, status=status, dumps=dumps)


def open_backends(settings: Settings, encoder=None, store=None):
    """Load the encoder and open the collection, refusing a mismatched or missing one."""
    from embedding import encoder_for
    from model_source import resolve_model
    from store import WordStore

    if encoder is None:
        # One inference thread per call: the executor's threads give the parallelism.
        encoder = encoder_for(settings, resolve_model(settings), threads=settings.torch_threads or 1)
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


def create_app(settings: Settings | None = None, encoder=None, store=None, name: str = APP_NAME) -> Sanic:
    """The Sanic app; ``encoder``/``store`` may be injected (tests, single process)."""
    settings = settings or load_settings()
    app = Sanic(name, dumps=dumps)
    app.config.REQUEST_MAX_SIZE = settings.max_body_bytes
    app.config.REQUEST_TIMEOUT = settings.request_timeout_s
    app.config.RESPONSE_TIMEOUT = settings.request_timeout_s + 5
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.settings = settings

    @app.before_server_start
    async def _open(app: Sanic) -> None:
        app.ctx.executor = ThreadPoolExecutor(settings.executor_threads, thread_name_prefix="wordsim")
        loop = asyncio.get_running_loop()
        app.ctx.encoder, app.ctx.store = await loop.run_in_executor(
            app.ctx.executor, open_backends, settings, encoder, store
        )
        app.ctx.cache = AnswerCache(settings.answer_cache_size)
        app.ctx.batcher = QueryBatcher(
            app.ctx.encoder.encode,
            app.ctx.store.search_many,
            app.ctx.executor,
            max_batch=settings.max_batch,
            max_in_flight=settings.executor_threads,
        )

    @app.after_server_start
    async def _start_watch(app: Sanic) -> None:
        app.add_task(watch_collection(app), name="watch_collection")

    async def watch_collection(app: Sanic) -> None:
        """Keep the collection loaded (a restarted Milvus forgets it) and empty the answer
        cache whenever the collection changes. Runs on the loop's default executor, so a
        long reload never takes a request thread."""
        loop = asyncio.get_running_loop()
        store = app.ctx.store
        while True:
            try:
                await loop.run_in_executor(None, store.ensure_loaded)
                if app.ctx.cache.observe(await loop.run_in_executor(None, store.generation)):
                    log.info("collection %s changed: answer cache emptied", settings.collection)
            except Exception as exc:  # Milvus down: searches answer 503 meanwhile
                log.info("collection check failed (Milvus unavailable?): %s", str(exc)[:200])
            await asyncio.sleep(settings.cache_check_interval_s)

    @app.before_server_stop
    async def _stop_watch(app: Sanic) -> None:
        await app.cancel_task("watch_collection", raise_exception=False)

    @app.after_server_stop
    async def _close(app: Sanic) -> None:
        app.ctx.executor.shutdown(wait=True)
        if store is None:
            app.ctx.store.close()

    async def off_loop(fn, *args):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(app.ctx.executor, fn, *args)

    @app.on_request
    async def _auth(request: Request):
        request.ctx.t0 = time.perf_counter()
        if settings.api_key and request.path not in OPEN_PATHS:
            given = request.headers.get("x-api-key", "")
            if not hmac.compare_digest(given.encode(), settings.api_key.encode()):
                raise Unauthorized("missing or wrong X-API-Key header")

    @app.on_response
    async def _log(request: Request, resp) -> None:
        if settings.access_log:
            ms = (time.perf_counter() - getattr(request.ctx, "t0", time.perf_counter())) * 1000
            # Path only: the query string may hold user input, which is not kept in logs.
            access.info("%s %s %s %.1fms", request.method, request.path, resp.status, ms)

    async def vector_similarity(request: Request) -> response.HTTPResponse:
        query = parse_query(request, settings)
        key = (query.text, query.top_k)
        body = app.ctx.cache.get(key)
        if body is None:
            try:
                hits = await app.ctx.batcher.query(query.text, query.top_k)
            except SearchFailed as exc:
                log.warning("Milvus search failed: %s", str(exc)[:200])
                raise ServiceUnavailable("the vector database is unavailable; try again shortly") from None
            body = dumps(format_hits(hits)).encode()
            app.ctx.cache.put(key, body)
        return response.raw(body, content_type=JSON_TYPE)

    # Two routes to one handler, so that OpenAPI describes a body for POST and a query
    # string for GET.
    app.add_route(
        document_similarity(settings, "POST")(vector_similarity),
        "/vector_similarity",
        methods=["POST"],
        name="similarity_post",
    )
    app.add_route(
        document_similarity(settings, "GET")(vector_similarity),
        "/vector_similarity",
        methods=["GET"],
        name="similarity_get",
    )

    @app.get("/health")
    @document_health()
    async def health(request: Request) -> response.HTTPResponse:
        body: dict[str, Any] = {
            "ok": True,
            "model": app.ctx.encoder.fingerprint,
            "backend": app.ctx.encoder.backend,
            "collection": settings.collection,
        }
        try:
            body["rows"] = await off_loop(app.ctx.store.count)
            body["source_rows"] = await off_loop(app.ctx.store.source_rows)
        except Exception as exc:
            log.warning("health check: Milvus unavailable: %s", exc)
            return response.json(
                {**body, "ok": False, "error": "vector database unavailable", "status": 503},
                status=503,
                dumps=dumps,
            )
        return response.json(body, dumps=dumps)

    @app.exception(Exception)
    async def _errors(request: Request, exc: Exception) -> response.HTTPResponse:
        if isinstance(exc, ServiceUnavailable) and body_incomplete(request):
            # Sanic reads the body after routing, so a client that stalls mid-body hits
            # the response timeout; it is the client's delay, hence 408, not 503.
            status, message = 408, "request body not received in time"
        elif isinstance(exc, SanicException):
            status = int(exc.status_code)
            message = str(exc) or "error"
        else:
            log.exception("unhandled error on %s %s", request.method, request.path)
            status, message = 500, "internal error"
        return error_body(status, message)

    return app


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Serve word similarity over HTTP.")
    p.add_argument("--host", default=settings.host)
    p.add_argument("--port", type=int, default=settings.port)
    p.add_argument("--workers", type=int, default=settings.workers)
    p.add_argument("--milvus-uri", default=settings.milvus_uri)
    return p


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    base = load_settings()
    args = build_parser(base).parse_args(argv)
    settings = base.replace(host=args.host, port=args.port, workers=args.workers, milvus_uri=args.milvus_uri)
    if settings.is_milvus_lite and settings.workers > 1:
        log.error("Milvus Lite allows one process per database: use --workers 1 or a Milvus server")
        return 2
    try:
        # Preflight in this process, so a wrong model or a missing collection stops here
        # with one clear message instead of inside every worker.
        encoder, store = open_backends(settings)
    except Exception as exc:
        log.error("cannot start: %s", exc)
        return 2
    if settings.workers == 1:
        app = create_app(settings, encoder=encoder, store=store)
        app.run(host=settings.host, port=settings.port, single_process=True, access_log=False, motd=False)
        return 0
    store.close()
    from sanic.worker.loader import AppLoader

    loader = AppLoader(factory=partial(create_app, settings))
    app = loader.load()
    app.prepare(
        host=settings.host, port=settings.port, workers=settings.workers, access_log=False, motd=False
    )
    Sanic.serve(primary=app, app_loader=loader)
    return 0


if __name__ == "__main__":
    sys.exit(main())
