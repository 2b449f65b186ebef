"""What narrows an answer: a score threshold, jieba's part of speech and frequency, and
dropping the query itself or words overlapping it; and which extra fields to show.

Milvus filters are built here from validated values only (integers, and tags of ASCII
letters), never from a client's raw text. Dropping the query text or overlapping words
compares strings, so it runs in the service, on an over-fetched list.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from sanic.exceptions import BadRequest

from wordsim.store.schema import Hit

EXTRA_FIELDS = ("freq", "pos")
"""What ``fields`` may add inside each hit's ``fields``."""
POS_TAG = re.compile(r"[A-Za-z]{1,16}")
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}
INT64_MAX = 2**63 - 1
"""``freq`` is an INT64 field: Milvus refuses an expression with a larger literal, and that
refusal must be the client's 400 here, not a failed search that looks like an outage."""


@dataclass(frozen=True)
class Filters:
    pos: tuple[str, ...] = ()
    min_freq: int | None = None
    min_score: float | None = None
    exclude_self: bool = False
    exclude_overlap: bool = False
    fields: tuple[str, ...] = ()

    def expr(self) -> str:
        """The Milvus filter expression ("" when none)."""
        parts = []
        if self.pos:
            parts.append("pos in [" + ", ".join(f'"{tag}"' for tag in self.pos) + "]")
        if self.min_freq is not None:
            parts.append(f"freq >= {int(self.min_freq)}")
        return " and ".join(parts)

    @property
    def in_service(self) -> bool:
        """Some hits are dropped after the search: fetch more than asked."""
        return self.exclude_self or self.exclude_overlap

    def with_min_distance(self, distance: float | None) -> Filters:
        """The same filters with the threshold as a distance (a calibrated score converted)."""
        return self if distance == self.min_score else replace(self, min_score=distance)

    def keep(self, hit: Hit, text: str) -> bool:
        if self.min_score is not None and hit.distance < self.min_score:
            return False
        if self.exclude_self and hit.text == text:
            return False
        return not (self.exclude_overlap and (text in hit.text or hit.text in text))


NO_FILTERS = Filters()


def parse_filters(get: Callable[[str], Any]) -> Filters:
    """Filters from the request's parameters (``get(name)``: the one value given, or None);
    400 for anything invalid."""
    return Filters(
        pos=_tags(get("pos")),
        min_freq=_number(get("min_freq"), "min_freq", int, 0, INT64_MAX),
        min_score=_number(get("min_score"), "min_score", float, -2.0, 2.0),
        exclude_self=_flag(get("exclude_self"), "exclude_self"),
        exclude_overlap=_flag(get("exclude_overlap"), "exclude_overlap"),
        fields=_fields(get("fields")),
    )


def _list(raw: Any, name: str) -> list[str]:
    """A JSON list of strings, or one comma-separated string."""
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else raw.split(",") if isinstance(raw, str) else None
    if items is None or not all(isinstance(i, str) for i in items):
        raise BadRequest(f"{name} must be a comma-separated string or a list of strings")
    return [i.strip() for i in items if i.strip()]


def _tags(raw: Any) -> tuple[str, ...]:
    tags = _list(raw, "pos")
    bad = [t for t in tags if not POS_TAG.fullmatch(t)]
    if bad:
        raise BadRequest(f"pos: {bad[0]!r} is not a part-of-speech tag (letters, e.g. n, v, a, nr)")
    return tuple(dict.fromkeys(tags))


def _fields(raw: Any) -> tuple[str, ...]:
    names = _list(raw, "fields")
    unknown = [n for n in names if n not in EXTRA_FIELDS]
    if unknown:
        raise BadRequest(f"fields: {unknown[0]!r} is not one of {', '.join(EXTRA_FIELDS)}")
    return tuple(n for n in EXTRA_FIELDS if n in names)


def _flag(raw: Any, name: str) -> bool:
    if raw is None or isinstance(raw, bool):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in TRUE | FALSE:
        return raw.strip().lower() in TRUE
    raise BadRequest(f"{name} must be true or false")


def _number(raw: Any, name: str, kind: type, low: float, high: float):
    if raw is None:
        return None
    try:
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise ValueError
        value = kind(raw.strip()) if isinstance(raw, str) else kind(raw)
        if kind is int and isinstance(raw, float):
            raise ValueError
    except ValueError:
        value = None
    in_range = value is not None and math.isfinite(value)
    in_range = in_range and low <= value <= high
    if not in_range:
        span = f"of at least {low} and at most {high}" if kind is int else f"from {low} to {high}"
        raise BadRequest(f"{name} must be a {'whole ' if kind is int else ''}number {span}")
    return value
