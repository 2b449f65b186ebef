"""Request parameters and the text policy, shared by every word endpoint (similarity,
compare, words).

Accepted: form fields (``application/x-www-form-urlencoded`` and ``multipart/form-data``,
Postman's two form modes), a JSON object body, and the query string. A parameter given
in more than one place, or more than once, is refused rather than guessed at.

Normalisation of a text before encoding: Unicode NFKC (full-width letters and digits
become half-width, compatibility forms are unified), then surrounding whitespace is
trimmed. Then the Unicode policy (README, "Input"): refused with 400 are control
characters (Cc), lone surrogates (Cs: not text; JSON can carry them as ``"\\ud800"``),
private-use characters (Co: no shared meaning), noncharacters (U+FDD0..U+FDEF, U+xFFFE,
U+xFFFF) and input made of format characters (Cf, such as U+200B) and spaces alone.
Code points unassigned in this Python's Unicode database are accepted: a newer Unicode
may assign them (CJK extensions), and the model reads them as [UNK].
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any
from urllib.parse import parse_qs

from sanic.exceptions import BadRequest
from sanic.headers import parse_content_header
from sanic.request import Request
from sanic.request.form import parse_multipart_form

from wordsim.service.errors import UnsupportedMediaType
from wordsim.settings import Settings

Params = dict[str, list[Any]]
"""Every parameter's values, query string and body together."""
SCORE_MODES = ("raw", "calibrated")


def normalize_text(raw: str) -> str:
    """NFKC, then trim surrounding whitespace (documented in README)."""
    return unicodedata.normalize("NFKC", raw).strip()


def json_object(request: Request, example: str) -> dict[str, Any]:
    """The body as a JSON object (empty when there is none), or 400 showing ``example``."""
    if not request.body:
        return {}
    try:
        body = json.loads(request.body)
    except (ValueError, RecursionError):
        raise BadRequest(f"request body is not valid JSON; send an object such as {example}") from None
    if not isinstance(body, dict):
        raise BadRequest(f"JSON body must be an object such as {example}")
    return body


def _urlencoded(raw: bytes | str, where: str) -> Params:
    """Strict parse: invalid UTF-8, raw or percent-encoded, is refused, not replaced."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        return parse_qs(text, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(f"{where} is not valid UTF-8") from None


def _multipart(request: Request) -> Params:
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


def collect(request: Request) -> Params:
    """Every parameter's values across the query string and the body, parsed once."""
    params: Params = dict(_urlencoded(request.query_string, "query string"))
    content_type = (request.content_type or "").split(";")[0].strip().lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        body: Params = {k: [v] for k, v in json_object(request, '{"usr_input": "教师"}').items()}
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


def single(params: Params, name: str) -> Any | None:
    """The one value of ``name`` (None when absent), or 400 when it is given twice."""
    values = params.get(name, [])
    if len(values) > 1:
        raise BadRequest(f"{name} given {len(values)} times; give it once")
    return values[0] if values else None


def optional_choice(params: Params, name: str) -> str | None:
    """An optional string parameter given at most once (None when absent)."""
    value = single(params, name)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return value


def score_mode(params: Params) -> str | None:
    """``score``: None (absent or ``raw``: distances only) or ``calibrated``."""
    mode = optional_choice(params, "score")
    if mode is not None and mode not in SCORE_MODES:
        raise BadRequest(f"score must be one of {', '.join(SCORE_MODES)}")
    return None if mode == "raw" else mode


def bounded_list(raw: Any, name: str, settings: Settings, what: str, example: str) -> list:
    """``raw`` as a list of 1 to ``max_inputs`` items (``what``: words, pairs), or 400 saying
    what is expected."""
    bounds = f"1 to {settings.max_inputs} {what}"
    if not isinstance(raw, list) or not raw:
        raise BadRequest(f"{name} must be a JSON list of {bounds}, such as {example}")
    if len(raw) > settings.max_inputs:
        raise BadRequest(f"{name} holds {bounds}: at most {settings.max_inputs} per request, not {len(raw)}")
    return raw


REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cs": "a lone surrogate, which is not text",
    "Co": "a private-use character",
}


def valid_text(raw: Any, name: str, settings: Settings) -> str:
    """``raw`` normalised (NFKC, trimmed), or 400 saying why the policy refuses it."""
    if not isinstance(raw, str):
        raise BadRequest(f"{name} must be a string")
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


def top_k(raw: Any, settings: Settings, default: int) -> int:
    """``top_k`` from a form string or a JSON number, 1 to ``max_top_k``."""
    if raw is None:
        return default
    if isinstance(raw, bool):
        raw = None  # JSON true/false are not numbers here
    elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        raw = int(raw.strip())
    if not isinstance(raw, int) or not 1 <= raw <= settings.max_top_k:
        raise BadRequest(f"top_k must be an integer from 1 to {settings.max_top_k}")
    return raw
