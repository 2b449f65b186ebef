"""``/vector_similarity``: the words closest to ``usr_input``, in the original answer shape.

The path of one query, in order: parse (``query``, on the shared ``params``) -> the
collection's answer cache -> its batcher (encode once, off the event loop, with the
vector's source) -> the Milvus search -> render (``render``).
"""

from __future__ import annotations

import asyncio
import logging

from sanic import Request, response
from sanic.exceptions import BadRequest, ServerError, ServiceUnavailable

from wordsim.service.admission import work_of
from wordsim.service.batcher import Found, SearchFailed
from wordsim.service.errors import UNAVAILABLE
from wordsim.service.query import Query, parse_query
from wordsim.service.render import JSON_TYPE, dumps, render_hits
from wordsim.service.served import ServedCollection, pick
from wordsim.store.schema import SearchSpec

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
    served = pick(ctx, query.collection)
    served.refuse_if_mismatched()
    items = (query,) if isinstance(query, Query) else query.items
    units = work_of(len(items), query.top_k)
    async with ctx.admission.work(units):
        if isinstance(query, Query):
            body = await answer(served, query, bulk=units > 1)
        else:
            answers = await asyncio.gather(*(answer_item(served, q, units > 1) for q in query.items))
            body = b"[" + b",".join(answers) + b"]"
    return response.raw(body, content_type=JSON_TYPE)


async def answer_item(served: ServedCollection, item: Query | BadRequest, bulk: bool) -> bytes:
    if isinstance(item, BadRequest):
        return dumps({"ok": False, "error": str(item), "status": 400}).encode()
    return await answer(served, item, bulk=bulk)


async def answer(served: ServedCollection, query: Query, *, bulk: bool = False) -> bytes:
    """One answer's JSON, from the collection's cache or from a search."""
    key = ("similar", query.text, query.top_k, query.filters, query.score)
    body = served.cache.get(key)
    if body is None:
        calibration = served.calibrated() if query.score else None
        try:
            found = await nearest(served, query, bulk)
        except SearchFailed as exc:
            if not exc.outage:  # a search the service should never have sent: its bug, not an outage
                log.error("Milvus refused a search of %s: %s", served.name, str(exc)[:300])
                raise ServerError("internal error") from None
            served.failed(str(exc)[:200])
            log.warning("Milvus search of %s failed: %s", served.name, str(exc)[:200])
            raise ServiceUnavailable(UNAVAILABLE) from None
        served.answered()
        body = dumps(render_hits(found.hits, calibration, found.source, query.filters.fields)).encode()
        served.cache.put(key, body)
    return body


async def nearest(served: ServedCollection, query: Query, bulk: bool = False) -> Found:
    """The hits of ``query`` that pass its filters, best first, at most ``top_k``. Filters
    the service applies (dropping the query text, overlapping words) need more hits than
    asked: the search is repeated with a larger limit, and the vector found the first
    time, while too few pass."""
    f = query.filters
    min_distance = f.min_score
    if f.min_score is not None and query.score:  # a threshold on the calibrated score
        min_distance = served.calibrated().distance(f.min_score)
    f = f.with_min_distance(min_distance)
    # A hair below the threshold, so that a hit exactly at it is not lost to rounding.
    radius = None if min_distance is None else min_distance - 1e-6
    limit = query.top_k + (FETCH_MARGIN if f.in_service else 0)
    vector = None
    while True:
        spec = SearchSpec(limit, f.expr(), radius, f.fields)
        found = await served.batcher.query(query.text, spec, vector, bulk=bulk)
        kept = [h for h in found.hits if f.keep(h, query.text)]
        if len(kept) >= query.top_k or len(found.hits) < limit or limit >= MAX_FETCH:
            return Found(kept[: query.top_k], found.vector, found.source)
        limit, vector = min(limit * 4, MAX_FETCH), found.vector
