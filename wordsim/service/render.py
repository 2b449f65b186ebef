"""Every JSON body the word endpoints answer: the original answer shape, the extras asked
for (calibrated ``score``, ``freq``/``pos`` fields, a static table's ``vector_source``),
and ``/compare``'s pairs. Chinese unescaped.

The default collection's answer without ``score`` is the original shape, untouched
(:func:`format_hits`). With ``score=calibrated`` each hit carries ``score`` after
``distance``; answers of a collection whose encoder reports its fallback (word2vec)
carry a top-level ``vector_source`` (``table``, ``segments``, ``characters``, ``none``).
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from wordsim.store.calibration import Calibration
from wordsim.store.schema import Hit

RESULT_KEY = "相似度计算的结果为："
"""The original answer's only top-level key; its value holds 结果1 … 结果N, best first."""
SOURCE_KEY = "vector_source"
JSON_TYPE = "application/json"

dumps = partial(json.dumps, ensure_ascii=False, separators=(",", ":"))
"""Every JSON body of the service: UTF-8 Chinese as is, no spaces."""


def format_hits(hits: list[Hit], extra_fields: tuple[str, ...] = ()) -> dict[str, Any]:
    """The original service's answer shape; ``extra_fields`` (freq, pos) go inside ``fields``."""
    return {
        RESULT_KEY: {
            f"结果{rank}": {
                "id": h.id,
                "distance": h.distance,
                "fields": {"id": h.id, "text": h.text, **{name: getattr(h, name) for name in extra_fields}},
            }
            for rank, h in enumerate(hits, start=1)
        }
    }


def render_hits(
    hits: list[Hit],
    calibration: Calibration | None,
    source: str | None,
    extra_fields: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The answer for ``hits``: the original shape, plus ``score`` (given a calibration),
    ``vector_source`` and ``extra_fields`` (freq, pos) inside ``fields``."""
    if calibration is None and source is None:
        return format_hits(hits, extra_fields)
    results = {}
    for rank, h in enumerate(hits, start=1):
        item: dict[str, Any] = {"id": h.id, "distance": h.distance}
        if calibration is not None:
            item["score"] = calibration.score(h.distance)
        item["fields"] = {"id": h.id, "text": h.text, **{name: getattr(h, name) for name in extra_fields}}
        results[f"结果{rank}"] = item
    body: dict[str, Any] = {RESULT_KEY: results}
    if source is not None:
        body[SOURCE_KEY] = source
    return body


def render_pair(
    a: str, b: str, distance: float, calibration: Calibration | None, sources: tuple[str | None, str | None]
) -> dict[str, Any]:
    """One ``/compare`` answer: a, b, distance (+ score, + where each vector came from)."""
    body: dict[str, Any] = {"a": a, "b": b, "distance": distance}
    if calibration is not None:
        body["score"] = calibration.score(distance)
    if sources[0] is not None:
        body[SOURCE_KEY] = {"a": sources[0], "b": sources[1]}
    return body
