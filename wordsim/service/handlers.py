"""The endpoints: module functions that reach the worker's state through ``request.app.ctx``."""

from __future__ import annotations

import logging

from sanic import Request, response
from sanic.exceptions import ServiceUnavailable

from wordsim.service.answers import JSON_TYPE, dumps, format_hits
from wordsim.service.batcher import SearchFailed
from wordsim.service.query import parse_query

log = logging.getLogger("wordsim.server")


async def vector_similarity(request: Request) -> response.HTTPResponse:
    """The ``top_k`` words closest to ``usr_input``, in the original answer shape."""
    ctx = request.app.ctx
    query = parse_query(request, ctx.settings)
    if ctx.status.refusal:
        raise ServiceUnavailable(ctx.status.refusal)
    key = (query.text, query.top_k)
    body = ctx.cache.get(key)
    if body is None:
        try:
            hits = await ctx.batcher.query(query.text, query.top_k)
        except SearchFailed as exc:
            ctx.status.failed(str(exc)[:200])
            log.warning("Milvus search failed: %s", str(exc)[:200])
            raise ServiceUnavailable("the vector database is unavailable; try again shortly") from None
        ctx.status.answered()
        body = dumps(format_hits(hits)).encode()
        ctx.cache.put(key, body)
    return response.raw(body, content_type=JSON_TYPE)
