"""Answers beyond the original one: calibrated scores on request, and where a static
table's vector came from.

The default collection's answer without ``score`` is the original shape, untouched
(``answers.format_hits``). With ``score=calibrated`` each hit carries ``score`` after
``distance``; answers of a collection whose encoder reports its fallback (word2vec)
carry a top-level ``vector_source`` (``table``, ``segments``, ``characters``, ``none``).
"""

from __future__ import annotations

from typing import Any

from sanic.exceptions import BadRequest

from wordsim.service.answers import RESULT_KEY, format_hits
from wordsim.service.collections import Served
from wordsim.store.calibration import Calibration
from wordsim.store.schema import Hit

SOURCE_KEY = "vector_source"


def calibration_of(served: Served) -> Calibration:
    """The collection's calibration, or 400 saying how to record one."""
    if served.calibration is None:
        raise BadRequest(
            f"collection {served.name!r} has no calibration yet: run "
            f"python insert_data_to_milvus.py --collection {served.name} (it records one)"
        )
    return served.calibration


def source_of(served: Served, text: str) -> str | None:
    """Where the collection's vector of ``text`` comes from (None for BERT models)."""
    return served.encoder.vector_of(text)[1] if served.reports_sources else None


def render_hits(
    served: Served, hits: list[Hit], score: str | None, source: str | None, extra_fields: tuple[str, ...] = ()
) -> dict[str, Any]:
    """The answer for ``hits``: the original shape, plus ``score``/``vector_source`` when due
    and ``extra_fields`` (freq, pos) inside ``fields``."""
    if score is None and source is None:
        return format_hits(hits, extra_fields)
    calibration = calibration_of(served) if score else None
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
    served: Served, a: str, b: str, distance: float, score: str | None, sources: list[str] | None
) -> dict[str, Any]:
    """One ``/compare`` answer: a, b, distance (+ score, + where each vector came from)."""
    body: dict[str, Any] = {"a": a, "b": b, "distance": distance}
    if score:
        body["score"] = calibration_of(served).score(distance)
    if sources is not None:
        body[SOURCE_KEY] = {"a": sources[0], "b": sources[1]}
    return body
