"""OpenAPI of the operational endpoints: the probes, /metrics and word management."""

from __future__ import annotations

from collections.abc import Callable

from sanic_ext import openapi

from wordsim.service.openapi import RawSchema, error_responses, stacked
from wordsim.settings import Settings

WORD_SCHEMA = {
    "type": "object",
    "required": ["id", "text"],
    "properties": {
        "id": {"type": "integer", "description": "source words: line number; added words: >= 1000000000"},
        "text": {"type": "string"},
        "added": {"type": "boolean", "description": "written by this request"},
    },
}


def document_health() -> Callable:
    body = {"application/json": RawSchema({"type": "object", "required": ["ok"]})}
    decorators = [
        openapi.summary("Readiness: model, collection, row count"),
        openapi.response(200, body, "ready"),
        openapi.response(503, body, "Milvus unavailable"),
    ]
    return stacked(decorators)


def document_probe(handler: Callable) -> Callable:
    """OpenAPI for /livez and /readyz; their summary is the first line of their doc."""
    body = {"application/json": RawSchema({"type": "object", "required": ["ok"]})}
    decorators = [
        openapi.summary(f"{handler.__name__}: for orchestrators (see README)"),
        openapi.response(200, body, "yes"),
    ]
    if handler.__name__ == "readyz":
        decorators.append(openapi.response(503, body, "not ready; the failing checks are listed"))
    return stacked(decorators)


def document_metrics() -> Callable:
    text = {"text/plain": RawSchema({"type": "string"})}
    return stacked(
        [
            openapi.summary("Prometheus metrics (text format), summed over the workers"),
            openapi.response(200, text, "requests, latency, batch sizes, cache, Milvus errors, encoder time"),
        ]
    )


def document_words_add(settings: Settings) -> Callable:
    word = {"type": "string", "minLength": 1, "maxLength": settings.max_text_chars, "example": "新词"}
    body = {
        "type": "object",
        "required": ["words"],
        "properties": {
            "words": {"type": "array", "items": word, "minItems": 1, "maxItems": settings.max_inputs}
        },
    }
    answer = {
        "type": "object",
        "required": ["words"],
        "properties": {"words": {"type": "array", "items": WORD_SCHEMA}},
    }
    return stacked(
        [
            openapi.summary("Add words (needs X-API-Key; 403 while WORDSIM_API_KEY is not set)"),
            openapi.body({"application/json": RawSchema(body)}, required=True),
            openapi.response(200, {"application/json": RawSchema(answer)}, "each word with its id, in order"),
            *error_responses(400, 401, 403, 408, 413, 503),
        ]
    )


def document_words_delete() -> Callable:
    answer = {"type": "object", "required": ["deleted"], "properties": {"deleted": WORD_SCHEMA}}
    return stacked(
        [
            openapi.summary("Delete a word added through POST /words (needs X-API-Key)"),
            openapi.parameter("word_id", RawSchema({"type": "integer"}), "path", required=True),
            openapi.response(200, {"application/json": RawSchema(answer)}, "the deleted word"),
            *error_responses(401, 403, 404, 409, 503),
        ]
    )
