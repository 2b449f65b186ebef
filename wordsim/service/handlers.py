"""The endpoints: module functions that reach the worker's state through ``request.app.ctx``."""

from __future__ import annotations

import asyncio
import logging

from sanic import Request, response
from sanic.exceptions import BadRequest, ServiceUnavailable

from wordsim.service.answers import JSON_TYPE, dumps, format_hits
from wordsim.service.batcher import SearchFailed
from wordsim.service.query import Query, parse_query
from wordsim.store.schema import Hit, SearchSpec

log = logging.getLogger("wordsim.server")

FETCH_MARGIN = 8
"""Extra hits fetched when the service drops some after the search (exclude_self/overlap)."""
MAX_FETCH = 2048
"""Most hits one search may fetch while looking for enough that pass the service's filters."""


async def vector_similarity(request: Request) -> response.HTTPResponse:
    """The ``top_k`` words closest to ``usr_input``, in the original answer shape; a list of
    such answers when ``usr_input`` is a list (an item's own error in its place)."""
    ctx = request.app.ctx
    query = parse_query(request, ctx.settings)
    if ctx.status.refusal:
        raise ServiceUnavailable(ctx.status.refusal)
    if isinstance(query, Query):
        body = await answer(ctx, query)
    else:
        body = b"[" + b",".join(await asyncio.gather(*(answer_item(ctx, q) for q in query.items))) + b"]"
    return response.raw(body, content_type=JSON_TYPE)


async def answer_item(ctx, item: Query | BadRequest) -> bytes:
    if isinstance(item, BadRequest):
        return dumps({"ok": False, "error": str(item), "status": 400}).encode()
    return await answer(ctx, item)


async def answer(ctx, query: Query) -> bytes:
    """One answer's JSON, from the cache or from a search."""
    key = (query.text, query.top_k, query.filters)
    body = ctx.cache.get(key)
    if body is None:
        try:
            hits = await nearest(ctx, query)
        except SearchFailed as exc:
            ctx.status.failed(str(exc)[:200])
            log.warning("Milvus search failed: %s", str(exc)[:200])
            raise ServiceUnavailable("the vector database is unavailable; try again shortly") from None
        ctx.status.answered()
        body = dumps(format_hits(hits, query.filters.fields)).encode()
        ctx.cache.put(key, body)
    return body


async def nearest(ctx, query: Query) -> list[Hit]:
    """The hits of ``query`` that pass its filters, best first, at most ``top_k``. Filters
    the service applies (dropping the query text, overlapping words) need more hits than
    asked: the search is repeated with a larger limit while too few pass."""
    f = query.filters
    # A hair below the threshold, so that a hit exactly at it is not lost to rounding.
    radius = None if f.min_score is None else f.min_score - 1e-6
    limit = query.top_k + (FETCH_MARGIN if f.in_service else 0)
    while True:
        hits = await ctx.batcher.query(query.text, SearchSpec(limit, f.expr(), radius, f.fields))
        kept = [h for h in hits if f.keep(h, query.text)]
        if len(kept) >= query.top_k or len(hits) < limit or limit >= MAX_FETCH:
            return kept[: query.top_k]
        limit = min(limit * 4, MAX_FETCH)
