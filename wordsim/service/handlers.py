"""The similarity endpoint: a module function that reaches the worker's state through
``request.app.ctx`` (the probes are in ``health``, /compare in ``compare``)."""

from __future__ import annotations

import asyncio
import logging

from sanic import Request, response
from sanic.exceptions import BadRequest, ServiceUnavailable

from wordsim.service.answers import JSON_TYPE, dumps
from wordsim.service.batcher import SearchFailed
from wordsim.service.collections import Served, pick
from wordsim.service.query import Query, parse_query
from wordsim.service.scoring import calibration_of, render_hits, source_of
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
    """One answer's JSON, from the collection's cache or from a search."""
    served = pick(ctx, query.collection)
    key = (query.text, query.top_k, query.filters, query.score)
    body = served.cache.get(key)
    if body is None:
        source = source_of(served, query.text)
        try:
            hits = [] if source == "none" else await nearest(served, query)
        except SearchFailed as exc:
            if served.is_default:
                ctx.status.failed(str(exc)[:200])
            log.warning("Milvus search failed: %s", str(exc)[:200])
            raise ServiceUnavailable("the vector database is unavailable; try again shortly") from None
        if served.is_default:
            ctx.status.answered()
        body = dumps(render_hits(served, hits, query.score, source, query.filters.fields)).encode()
        served.cache.put(key, body)
    return body


async def nearest(served: Served, query: Query) -> list[Hit]:
    """The hits of ``query`` that pass its filters, best first, at most ``top_k``. Filters
    the service applies (dropping the query text, overlapping words) need more hits than
    asked: the search is repeated with a larger limit while too few pass."""
    f = query.filters
    min_distance = f.min_score
    if f.min_score is not None and query.score:  # a threshold on the calibrated score
        min_distance = calibration_of(served).distance(f.min_score)
    f = f.with_min_distance(min_distance)
    # A hair below the threshold, so that a hit exactly at it is not lost to rounding.
    radius = None if min_distance is None else min_distance - 1e-6
    limit = query.top_k + (FETCH_MARGIN if f.in_service else 0)
    while True:
        hits = await served.batcher.query(query.text, SearchSpec(limit, f.expr(), radius, f.fields))
        kept = [h for h in hits if f.keep(h, query.text)]
        if len(kept) >= query.top_k or len(hits) < limit or limit >= MAX_FETCH:
            return kept[: query.top_k]
        limit = min(limit * 4, MAX_FETCH)
