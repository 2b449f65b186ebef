"""Read and validate ``usr_input`` and ``top_k`` from any of the accepted request forms.

Accepted: form fields (``application/x-www-form-urlencoded`` and ``multipart/form-data``,
Postman's two form modes), a JSON object body, and the query string. A parameter given
in more than one place, or more than once, is refused rather than guessed at.

Normalisation of ``usr_input`` before encoding: Unicode NFKC (full-width letters and
digits become half-width, compatibility forms are unified), then surrounding whitespace
is trimmed. Then the Unicode policy (README, "Input"): refused with 400 are control
characters (Cc), lone surrogates (Cs: not text; JSON can carry them as ``"\ud800"``),
private-use characters (Co: no shared meaning), noncharacters (U+FDD0..U+FDEF, U+xFFFE,
U+xFFFF) and input made of format characters (Cf, such as U+200B) and spaces alone.
Code points unassigned in this Python's Unicode database are accepted: a newer Unicode
may assign them (CJK extensions), and the model reads them as [UNK].
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs

from sanic.exceptions import BadRequest
from sanic.headers import parse_content_header
from sanic.request import Request
from sanic.request.form import parse_multipart_form

from wordsim.service.errors import UnsupportedMediaType
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


def normalize_text(raw: str) -> str:
    """NFKC, then trim surrounding whitespace (documented in README)."""
    return unicodedata.normalize("NFKC", raw).strip()


def _json_body(request: Request) -> dict[str, Any]:
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, RecursionError):
        raise BadRequest("request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest('JSON body must be an object such as {"usr_input": "教师"}')
    return body


def _urlencoded(raw: bytes | str, where: str) -> dict[str, list[str]]:
    """Strict parse: invalid UTF-8, raw or percent-encoded, is refused, not replaced."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return parse_qs(text, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(f"{where} is not valid UTF-8") from None


def _multipart(request: Request) -> dict[str, list[str]]:
    """Parsed here rather than by ``request.form``, which logs a traceback for every
    malformed body and returns an empty form."""
    _, params = parse_content_header(request.headers.get("content-type", ""))
    boundary = params.get("boundary")
    if not boundary:
        raise BadRequest("multipart body without a boundary")
    if not request.body:
        return {}
    try:
        form, _files = parse_multipart_form(request.body, str(boundary).encode("utf-8"))
    except Exception:  # any malformation: the body is the client's problem
        raise BadRequest("multipart body could not be parsed") from None
    return {key: list(form.getlist(key)) for key in form}


def _collect(request: Request) -> dict[str, list[Any]]:
    """Every parameter's values across the query string and the body, parsed once."""
    params: dict[str, list[Any]] = dict(_urlencoded(request.query_string, "query string"))
    content_type = (request.content_type or "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        body: dict[str, list[Any]] = {k: [v] for k, v in _json_body(request).items()}
    elif content_type == "application/x-www-form-urlencoded":
        body = _urlencoded(request.body, "form body")
    elif content_type == "multipart/form-data":
        body = _multipart(request)
    elif request.body and content_type not in ("", "text/plain"):
        raise UnsupportedMediaType(
            f"unsupported Content-Type {content_type!r}: send a form, a JSON object or a query string"
        )
    else:
        body = {}
    for key, values in body.items():
        params.setdefault(key, []).extend(values)
    return params


def _single(params: dict[str, list[Any]], name: str) -> Any | None:
    values = params.get(name, [])
    if len(values) > 1:
        raise BadRequest(f"{name} given {len(values)} times; give it once")
    return values[0] if values else None


def parse_query(request: Request, settings: Settings) -> Query | BatchQuery:
    """The validated, normalised query of ``request`` (raises 400 ``BadRequest``); a
    :class:`BatchQuery` when ``usr_input`` is a JSON list."""
    params = _collect(request)
    raw = _single(params, "usr_input")
    if raw is None:
        raise BadRequest("usr_input is required, e.g. usr_input=教师")
    if not isinstance(raw, str | list):
        raise BadRequest("usr_input must be a string (or, in a JSON body, a list of strings)")
    filters = parse_filters(lambda name: _single(params, name))
    # With a threshold and no count, the answer is every word at or above it (up to the cap).
    default_k = settings.max_top_k if filters.min_score is not None else settings.default_top_k
    top_k = _top_k(_single(params, "top_k"), settings, default_k)
    collection, score = optional_choice(params, "collection"), score_mode(params)
    if isinstance(raw, list):
        shape = Query("", top_k, filters, collection, score)
        return BatchQuery(tuple(_item(text, shape, settings) for text in _bounded(raw, settings)))
    return Query(valid_text(raw, "usr_input", settings), top_k, filters, collection, score)


def _bounded(raw: list, settings: Settings) -> list:
    if not raw or len(raw) > settings.max_inputs:
        raise BadRequest(f"usr_input as a list holds 1 to {settings.max_inputs} words")
    return raw


def _item(raw: Any, shape: Query, settings: Settings) -> Query | BadRequest:
    if not isinstance(raw, str):
        return BadRequest("usr_input must be a string")
    try:
        return replace(shape, text=valid_text(raw, "usr_input", settings))
    except BadRequest as exc:
        return exc


SCORE_MODES = ("raw", "calibrated")


def optional_choice(params: dict[str, list[Any]], name: str) -> str | None:
    """An optional string parameter given at most once (None when absent)."""
    value = _single(params, name)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return value


def score_mode(params: dict[str, list[Any]]) -> str | None:
    """``score``: None (absent or ``raw``: distances only) or ``calibrated``."""
    mode = optional_choice(params, "score")
    if mode is not None and mode not in SCORE_MODES:
        raise BadRequest(f"score must be one of {', '.join(SCORE_MODES)}")
    return None if mode == "raw" else mode


REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cs": "a lone surrogate, which is not text",
    "Co": "a private-use character",
}


def valid_text(raw: str, name: str, settings: Settings) -> str:
    """``raw`` normalised (NFKC, trimmed), or 400 saying which character the policy refuses."""
    text = normalize_text(raw)
    if not text:
        raise BadRequest(f"{name} is empty")
    for ch in text:
        why = REFUSED_CATEGORIES.get(unicodedata.category(ch))
        if why is None and _is_noncharacter(ch):
            why = "a noncharacter"
        if why is not None:
            raise BadRequest(f"{name} contains U+{ord(ch):04X}, {why}")
    if all(unicodedata.category(ch) == "Cf" or ch.isspace() for ch in text):
        raise BadRequest(f"{name} has only invisible format characters")
    if len(text) > settings.max_text_chars:
        raise BadRequest(f"{name} is longer than {settings.max_text_chars} characters")
    return text


def _is_noncharacter(ch: str) -> bool:
    cp = ord(ch)
    return 0xFDD0 <= cp <= 0xFDEF or (cp & 0xFFFE) == 0xFFFE


def _top_k(raw: Any, settings: Settings, default: int) -> int:
    if raw is None:
        return default
    if isinstance(raw, bool):
        raw = None  # JSON true/false are not numbers here
    elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        raw = int(raw.strip())
    if not isinstance(raw, int) or not 1 <= raw <= settings.max_top_k:
        raise BadRequest(f"top_k must be an integer from 1 to {settings.max_top_k}")
    return raw
