"""``/compare``: the similarity of two texts under a collection's model.

One pair: ``a`` and ``b`` (form, JSON object or query string, like ``usr_input``, with
the same validation and normalisation), answered ``{"a", "b", "distance"}`` where
``distance`` is the inner product of the two unit vectors (cosine), as ``/vector_similarity``
reports it. Several: a JSON body ``{"pairs": [["医生", "护士"], ...]}`` (at most
``WORDSIM_MAX_INPUTS``), answered ``{"results": [...]}`` in the same order. Optional everywhere:
``collection`` and ``score=calibrated``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sanic import Request, response
from sanic.exceptions import BadRequest

from wordsim.service.answers import dumps
from wordsim.service.collections import Served, pick
from wordsim.service.lifecycle import run_blocking
from wordsim.service.query import _collect, _single, optional_choice, score_mode, valid_text
from wordsim.service.scoring import render_pair

"""Most pairs in one ``/compare`` request (one encoder call for all their texts)."""


def _pairs(params: dict[str, list[Any]], settings) -> list[tuple[str, str]]:
    raw_pairs = _single(params, "pairs")
    if raw_pairs is None:
        a, b = _single(params, "a"), _single(params, "b")
        if a is None or b is None:
            raise BadRequest(
                'give a and b (e.g. a=医生&b=护士), or a JSON body {"pairs": [["医生", "护士"]]}'
            )
        if not isinstance(a, str) or not isinstance(b, str):
            raise BadRequest("a and b must be strings")
        return [(valid_text(a, "a", settings), valid_text(b, "b", settings))]
    if "a" in params or "b" in params:
        raise BadRequest("give either a and b, or pairs, not both")
    if not isinstance(raw_pairs, list) or not raw_pairs:
        raise BadRequest('pairs must be a non-empty JSON list such as [["医生", "护士"]]')
    if len(raw_pairs) > settings.max_inputs:
        raise BadRequest(f"at most {settings.max_inputs} pairs per request, not {len(raw_pairs)}")
    out = []
    for i, pair in enumerate(raw_pairs):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(t, str) for t in pair)):
            raise BadRequest(f"pairs[{i}] must be a list of two strings")
        out.append(
            (valid_text(pair[0], f"pairs[{i}][0]", settings), valid_text(pair[1], f"pairs[{i}][1]", settings))
        )
    return out


def _encode(served: Served, texts: list[str]) -> tuple[np.ndarray, list[str] | None]:
    if served.reports_sources:
        return served.encoder.encode_with_sources(texts)
    return served.encoder.encode(texts), None


async def compare(request: Request) -> response.HTTPResponse:
    """Similarity of ``a`` and ``b`` (or of each of ``pairs``) under one collection's model."""
    settings = request.app.ctx.settings
    params = _collect(request)
    served = pick(request.app.ctx, optional_choice(params, "collection"))
    score = score_mode(params)
    pairs = _pairs(params, settings)
    texts = sorted({t for pair in pairs for t in pair})
    vectors, sources = await run_blocking(request.app, _encode, served, texts)
    row = {t: i for i, t in enumerate(texts)}
    answers = []
    for a, b in pairs:
        ia, ib = row[a], row[b]
        distance = float(np.dot(vectors[ia], vectors[ib]))
        pair_sources = None if sources is None else [sources[ia], sources[ib]]
        answers.append(render_pair(served, a, b, distance, score, pair_sources))
    body = answers[0] if "pairs" not in params else {"results": answers}
    return response.json(body, dumps=dumps)
