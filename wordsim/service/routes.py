"""``attach_endpoints(app)``: every route, middleware and the error handler, in one place."""

from __future__ import annotations

from sanic import Sanic
from sanic.exceptions import RequestCancelled

from wordsim.service import compare, health, metrics, similarity, words
from wordsim.service.cors import attach_cors
from wordsim.service.errors import render_error
from wordsim.service.middleware import check_api_key, log_access
from wordsim.service.openapi import document_compare, document_similarity
from wordsim.service.openapi_ops import (
    document_health,
    document_metrics,
    document_probe,
    document_words_add,
    document_words_delete,
)
from wordsim.service.page import attach_page
from wordsim.service.strict_http import attach_strict_http


def _own_function(handler, *, per_client: bool = False):
    """A function object of the route's own: sanic-ext keys OpenAPI descriptions by
    function, so the POST and GET routes (a body; a query string) need one each.
    ``per_client``: the word endpoints, whose requests count against their client's limit
    (``admission``); the probes, /metrics and the page do not."""

    if per_client:

        async def endpoint(request, **kwargs):
            async with request.app.ctx.admission.client(request.ip):
                return await handler(request, **kwargs)

    else:

        async def endpoint(request, **kwargs):
            return await handler(request, **kwargs)

    endpoint.__name__ = endpoint.__qualname__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


def attach_endpoints(app: Sanic) -> None:
    settings = app.ctx.settings
    attach_strict_http(app)
    attach_cors(app)  # first: a preflight is answered before the API key check
    app.on_request(check_api_key)
    app.on_response(log_access)
    for method in ("POST", "GET"):
        endpoint = document_similarity(settings, method)(
            _own_function(similarity.vector_similarity, per_client=True)
        )
        app.add_route(endpoint, "/vector_similarity", methods=[method], name=f"similarity_{method.lower()}")
        endpoint = document_compare(settings, method)(_own_function(compare.compare, per_client=True))
        app.add_route(endpoint, "/compare", methods=[method], name=f"compare_{method.lower()}")
    app.add_route(document_health()(_own_function(health.health)), "/health", methods=["GET"], name="health")
    for probe in (health.livez, health.readyz):
        app.add_route(document_probe(probe)(_own_function(probe)), f"/{probe.__name__}", methods=["GET"])
    app.add_route(
        document_metrics()(_own_function(metrics.metrics_endpoint)),
        "/metrics",
        methods=["GET"],
        name="metrics",
    )
    add_words = document_words_add(settings)(_own_function(words.add_words, per_client=True))
    app.add_route(add_words, "/words", methods=["POST"], name="words_add")
    delete_word = document_words_delete()(_own_function(words.delete_word, per_client=True))
    app.add_route(delete_word, "/words/<word_id:int>", methods=["DELETE"], name="words_delete")
    attach_page(app)
    # RequestCancelled is a CancelledError, not an Exception: named apart, or it would be a 500.
    app.exception(Exception, RequestCancelled)(render_error)
