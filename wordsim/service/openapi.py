"""OpenAPI description of the endpoints (served by sanic-ext at ``/docs/openapi.json``)."""

from __future__ import annotations

from collections.abc import Callable

from sanic_ext import openapi
from sanic_ext.extensions.openapi.types import Schema

from wordsim.service.render import RESULT_KEY
from wordsim.settings import Settings


class RawSchema(Schema):
    """A JSON Schema written out as a dict: sanic-ext would otherwise read a dict as an
    example object and describe its keys instead."""

    def __init__(self, schema: dict) -> None:
        self._fields = schema


ERROR_SCHEMA = {
    "type": "object",
    "required": ["ok", "error", "status"],
    "properties": {"ok": {"type": "boolean"}, "error": {"type": "string"}, "status": {"type": "integer"}},
}
HIT_SCHEMA = {
    "type": "object",
    "required": ["id", "distance", "fields"],
    "properties": {
        "id": {"type": "integer"},
        "distance": {"type": "number"},
        "fields": {
            "type": "object",
            "required": ["id", "text"],
            "properties": {"id": {"type": "integer"}, "text": {"type": "string"}},
        },
    },
}
ONE_ANSWER = {
    "type": "object",
    "required": [RESULT_KEY],
    "properties": {
        RESULT_KEY: {
            "type": "object",
            "description": "结果1 … 结果N, best first",
            "additionalProperties": HIT_SCHEMA,
        }
    },
}
ANSWER_SCHEMA = {
    "oneOf": [
        ONE_ANSWER,
        {
            "type": "array",
            "description": "usr_input given as a list: one answer per word, or that word's error",
            "items": {"oneOf": [ONE_ANSWER, ERROR_SCHEMA]},
        },
    ]
}


def choice_properties(settings: Settings) -> dict:
    """Parameters every word endpoint accepts besides its own."""
    names = [name for name, _ in settings.served_collections]
    return {
        "collection": {
            "type": "string",
            "enum": names,
            "description": "a served collection; default the first",
        },
        "score": {
            "type": "string",
            "enum": ["raw", "calibrated"],
            "description": "calibrated: answers also carry a score (about 0 for unrelated words)",
        },
    }


def _input_schema(settings: Settings, batch: bool = False) -> dict:
    """The parameters; ``batch``: the JSON body, where ``usr_input`` may be a list."""
    word = {
        "type": "string",
        "minLength": 1,
        "maxLength": settings.max_text_chars,
        "description": "the word or phrase; NFKC-normalised and trimmed",
        "example": "教师",
    }
    words = {"type": "array", "items": word, "minItems": 1, "maxItems": settings.max_inputs}
    return {
        "type": "object",
        "required": ["usr_input"],
        "properties": {
            "usr_input": {"oneOf": [word, words]} if batch else word,
            "top_k": {
                "type": "integer",
                "minimum": 1,
                "maximum": settings.max_top_k,
                "default": settings.default_top_k,
                "description": f"hits at most; with min_score and no top_k: {settings.max_top_k}",
            },
            **FILTER_PARAMETERS,
            **choice_properties(settings),
        },
    }


FILTER_PARAMETERS = {
    "min_score": {
        "type": "number",
        "minimum": -2,
        "maximum": 2,
        "description": "only hits whose distance (inner product) is at or above it",
    },
    "pos": {"type": "string", "description": "jieba part-of-speech tags, comma-separated: n,v,a,nr ..."},
    "min_freq": {
        "type": "integer",
        "minimum": 0,
        "description": "only words of at least this jieba frequency",
    },
    "exclude_self": {"type": "boolean", "description": "drop the query text itself"},
    "exclude_overlap": {
        "type": "boolean",
        "description": "drop words containing the query or contained in it",
    },
    "fields": {
        "type": "string",
        "description": "extra fields inside each hit's fields: freq, pos (comma-separated)",
    },
}


def error_responses(*codes: int) -> list[Callable]:
    return [openapi.response(code, {"application/json": RawSchema(ERROR_SCHEMA)}, "error") for code in codes]


def document_similarity(settings: Settings, method: str) -> Callable:
    """OpenAPI for ``/vector_similarity``: a body for POST, a query string for GET."""
    schema = _input_schema(settings)
    decorators = [
        openapi.summary("The words closest to usr_input"),
        openapi.response(200, {"application/json": RawSchema(ANSWER_SCHEMA)}, "the nearest words"),
        *error_responses(400, 401, 408, 413, 503),
    ]
    if method == "POST":
        decorators.append(
            openapi.body(
                {
                    "application/x-www-form-urlencoded": RawSchema(schema),
                    "multipart/form-data": RawSchema(schema),
                    "application/json": RawSchema(_input_schema(settings, batch=True)),
                },
                required=True,
            )
        )
    else:
        for name, prop in schema["properties"].items():
            decorators.append(
                openapi.parameter(name, RawSchema(prop), "query", required=name in schema["required"])
            )

    return stacked(decorators)


def document_compare(settings: Settings, method: str) -> Callable:
    """OpenAPI for ``/compare``: a and b, or (POST JSON) a list of pairs."""
    text = {"type": "string", "minLength": 1, "maxLength": settings.max_text_chars}
    single = {
        "type": "object",
        "required": ["a", "b"],
        "properties": {
            "a": {**text, "example": "医生"},
            "b": {**text, "example": "护士"},
            **choice_properties(settings),
        },
    }
    one = {"type": "object", "required": ["a", "b", "distance"]}
    answer = {"oneOf": [one, {"type": "object", "required": ["results"]}]} if method == "POST" else one
    decorators = [
        openapi.summary("Similarity of a and b (inner product of their unit vectors)"),
        openapi.response(200, {"application/json": RawSchema(answer)}, "the pair's similarity"),
        *error_responses(400, 401, 408, 413, 503),
    ]
    if method == "POST":
        many = {
            "type": "object",
            "required": ["pairs"],
            "properties": {
                "pairs": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": settings.max_inputs,
                    "items": {"type": "array", "items": text},
                },
                **choice_properties(settings),
            },
        }
        form = RawSchema(single)
        decorators.append(
            openapi.body(
                {
                    "application/x-www-form-urlencoded": form,
                    "multipart/form-data": form,
                    "application/json": RawSchema({"oneOf": [single, many]}),
                },
                required=True,
            )
        )
    else:
        for name, prop in single["properties"].items():
            decorators.append(openapi.parameter(name, RawSchema(prop), "query", required=name in ("a", "b")))
    return stacked(decorators)


def stacked(decorators: list[Callable]) -> Callable:
    """One decorator applying ``decorators`` as if written top to bottom above a function."""

    def apply(func: Callable) -> Callable:
        for decorate in reversed(decorators):
            func = decorate(func)
        return func

    return apply
