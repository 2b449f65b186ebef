"""JSON out: the original service's answer shape, Chinese unescaped."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from wordsim.store.schema import Hit

RESULT_KEY = "相似度计算的结果为："
"""The original answer's only top-level key; its value holds 结果1 … 结果N, best first."""
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
