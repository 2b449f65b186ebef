"""The query of ``/vector_similarity``: ``usr_input`` (a text, or a JSON list of texts),
``top_k``, the filters, ``collection`` and ``score``, validated by the shared parameter
rules (``params``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sanic.exceptions import BadRequest
from sanic.request import Request

from wordsim.service import params as p
from wordsim.service.filters import NO_FILTERS, Filters, parse_filters
from wordsim.settings import Settings


@dataclass(frozen=True)
class Query:
    text: str
    top_k: int
    filters: Filters = NO_FILTERS
    collection: str | None = None
    """The ``collection`` parameter (None = the default collection)."""
    score: str | None = None
    """``calibrated`` adds a calibrated ``score`` to each hit; None or ``raw``: distances only."""


@dataclass(frozen=True)
class BatchQuery:
    """``usr_input`` given as a JSON list: one query per item, or the item's own 400."""

    items: tuple[Query | BadRequest, ...]
    collection: str | None = None
    """Every item's collection (the parameter is given once for all)."""
    top_k: int = 1
    """Every item's ``top_k``."""


def parse_query(request: Request, settings: Settings) -> Query | BatchQuery:
    """The validated, normalised query of ``request`` (raises 400 ``BadRequest``); a
    :class:`BatchQuery` when ``usr_input`` is a JSON list."""
    params = p.collect(request)
    raw = p.single(params, "usr_input")
    if raw is None:
        raise BadRequest("usr_input is required, e.g. usr_input=教师")
    if not isinstance(raw, str | list):
        raise BadRequest("usr_input must be a string (or, in a JSON body, a list of strings)")
    filters = parse_filters(lambda name: p.single(params, name))
    # With a threshold and no count, the answer is every word at or above it (up to the cap).
    default_k = settings.max_top_k if filters.min_score is not None else settings.default_top_k
    top_k = p.top_k(p.single(params, "top_k"), settings, default_k)
    collection, score = p.optional_choice(params, "collection"), p.score_mode(params)
    if isinstance(raw, list):
        shape = Query("", top_k, filters, collection, score)
        items = p.bounded_list(raw, "usr_input", settings, "words", '["教师", "医生"]')
        return BatchQuery(tuple(_item(text, shape, settings) for text in items), collection, top_k)
    return Query(p.valid_text(raw, "usr_input", settings), top_k, filters, collection, score)


def _item(raw: Any, shape: Query, settings: Settings) -> Query | BadRequest:
    try:
        return replace(shape, text=p.valid_text(raw, "usr_input", settings))
    except BadRequest as exc:
        return exc
