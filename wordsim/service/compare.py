"""``/compare``: the similarity of two texts under a collection's model.

One pair: ``a`` and ``b`` (form, JSON object or query string, like ``usr_input``, with
the same validation and normalisation), answered ``{"a", "b", "distance"}`` where
``distance`` is the inner product of the two unit vectors (cosine), as ``/vector_similarity``
reports it. Several: a JSON body ``{"pairs": [["医生", "护士"], ...]}`` (at most
``WORDSIM_MAX_INPUTS``), answered ``{"results": [...]}`` in the same order. Optional everywhere:
``collection`` and ``score=calibrated``.

The same path as a similarity query: parse -> the collection's answer cache (per pair)
-> its batcher (each distinct text encoded once, in the batches concurrent queries share)
-> render. A collection that now holds another model's vectors refuses here too.
"""

from __future__ import annotations

import asyncio

import numpy as np
from sanic import Request, response
from sanic.exceptions import BadRequest

from wordsim.service import params as p
from wordsim.service.admission import work_of
from wordsim.service.render import JSON_TYPE, dumps, render_pair
from wordsim.service.served import pick
from wordsim.settings import Settings

PAIRS_EXAMPLE = '[["医生", "护士"]]'


def parse_pairs(params: p.Params, settings: Settings) -> list[tuple[str, str]]:
    """The validated, normalised pairs: ``a`` and ``b``, or ``pairs``."""
    raw_pairs = p.single(params, "pairs")
    if raw_pairs is None:
        a, b = p.single(params, "a"), p.single(params, "b")
        if a is None or b is None:
            raise BadRequest(
                f'give a and b (e.g. a=医生&b=护士), or a JSON body {{"pairs": {PAIRS_EXAMPLE}}}'
            )
        return [(p.valid_text(a, "a", settings), p.valid_text(b, "b", settings))]
    if "a" in params or "b" in params:
        raise BadRequest("give either a and b, or pairs, not both")
    out = []
    for i, pair in enumerate(p.bounded_list(raw_pairs, "pairs", settings, "pairs", PAIRS_EXAMPLE)):
        if not (isinstance(pair, list) and len(pair) == 2):
            raise BadRequest(f"pairs[{i}] must be a list of two strings")
        out.append(
            (
                p.valid_text(pair[0], f"pairs[{i}][0]", settings),
                p.valid_text(pair[1], f"pairs[{i}][1]", settings),
            )
        )
    return out


async def compare(request: Request) -> response.HTTPResponse:
    """Similarity of ``a`` and ``b`` (or of each of ``pairs``) under one collection's model."""
    ctx = request.app.ctx
    params = p.collect(request)
    served = pick(ctx, p.optional_choice(params, "collection"))
    score = p.score_mode(params)
    pairs = parse_pairs(params, ctx.settings)
    served.refuse_if_mismatched()
    calibration = served.calibrated() if score else None
    units = work_of(len(pairs), 1)
    async with ctx.admission.work(units):
        bodies = await _answers(served, pairs, score, calibration, bulk=units > 1)
    if "pairs" not in params:
        return response.raw(bodies[0], content_type=JSON_TYPE)
    return response.raw(b'{"results":[' + b",".join(bodies) + b"]}", content_type=JSON_TYPE)


async def _answers(served, pairs: list[tuple[str, str]], score, calibration, *, bulk: bool) -> list[bytes]:
    """Each pair's answer body, from the cache or from the vectors of its texts."""
    keys = [("compare", a, b, score) for a, b in pairs]
    bodies = [served.cache.get(key) for key in keys]
    missing = [i for i, body in enumerate(bodies) if body is None]
    if missing:
        texts = list(dict.fromkeys(t for i in missing for t in pairs[i]))
        vectors = await asyncio.gather(*(served.batcher.vector(t, bulk=bulk) for t in texts))
        found = dict(zip(texts, vectors, strict=True))
        for i in missing:
            a, b = pairs[i]
            distance = float(np.dot(found[a].vector, found[b].vector))
            bodies[i] = dumps(
                render_pair(a, b, distance, calibration, (found[a].source, found[b].source))
            ).encode()
            served.cache.put(keys[i], bodies[i])
    return bodies
