"""The endpoints: module functions that reach the worker's state through ``request.app.ctx``."""

from __future__ import annotations

import logging
from typing import Any

from sanic import Request, response
from sanic.exceptions import ServiceUnavailable

from wordsim.service.answers import JSON_TYPE, dumps
from wordsim.service.batcher import SearchFailed
from wordsim.service.collections import collections_health, pick
from wordsim.service.errors import error_body
from wordsim.service.lifecycle import run_blocking
from wordsim.service.query import parse_query
from wordsim.service.scoring import render_hits, source_of

log = logging.getLogger("wordsim.server")


async def vector_similarity(request: Request) -> response.HTTPResponse:
    """The ``top_k`` words closest to ``usr_input``, in the original answer shape."""
    query = parse_query(request, request.app.ctx.settings)
    served = pick(request.app.ctx, query.collection)
    key = (query.text, query.top_k, query.score)
    body = served.cache.get(key)
    if body is None:
        source = source_of(served, query.text)
        try:
            hits = [] if source == "none" else await served.batcher.query(query.text, query.top_k)
        except SearchFailed as exc:
            log.warning("Milvus search failed: %s", str(exc)[:200])
            raise ServiceUnavailable("the vector database is unavailable; try again shortly") from None
        body = dumps(render_hits(served, hits, query.score, source)).encode()
        served.cache.put(key, body)
    return response.raw(body, content_type=JSON_TYPE)


async def health(request: Request) -> response.HTTPResponse:
    """Model, backend, collection and its row counts; 503 while Milvus does not answer."""
    app = request.app
    body: dict[str, Any] = {
        "ok": True,
        "model": app.ctx.encoder.fingerprint,
        "backend": app.ctx.encoder.backend,
        "collection": app.ctx.settings.collection,
    }
    try:
        body["rows"] = await run_blocking(app, app.ctx.store.count)
        body["source_rows"] = await run_blocking(app, app.ctx.store.source_rows)
        body["collections"] = await collections_health(app)
    except Exception as exc:
        log.warning("health check: Milvus unavailable: %s", exc)
        del body["ok"]
        return error_body(503, "vector database unavailable", **body)
    return response.json(body, dumps=dumps)
