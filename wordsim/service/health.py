"""Probes, answered from memory (the refresh loop keeps each served collection fresh):

- ``/livez``: the process serves requests. For a liveness probe: restart the worker if it fails.
- ``/readyz``: the default collection's model loaded, Milvus reachable, collection loaded and
  complete. For a readiness probe: send no traffic while it fails; it recovers by itself.
- ``/health``: what a person or a monitor wants to see: model, backend, collection, row counts,
  every served collection; 503 while Milvus does not answer.
"""

from __future__ import annotations

from typing import Any

from sanic import Request, response

from wordsim.service.errors import error_body
from wordsim.service.render import dumps
from wordsim.service.served import default_of


async def livez(request: Request) -> response.HTTPResponse:
    return response.json({"ok": True}, dumps=dumps)


async def readyz(request: Request) -> response.HTTPResponse:
    served = default_of(request.app.ctx)
    checks = {
        "model": served.encoder is not None and not served.refusal,
        "milvus": served.milvus_ok(),
        "collection_loaded": served.loaded,
        "collection_complete": served.complete(),
    }
    if all(checks.values()):
        return response.json({"ok": True, "checks": checks}, dumps=dumps)
    failing = ", ".join(name for name, ok in checks.items() if not ok)
    return error_body(503, f"not ready: {failing}", checks=checks)


async def health(request: Request) -> response.HTTPResponse:
    """Model, backend, collection and its row counts; 503 while Milvus does not answer."""
    ctx = request.app.ctx
    served = default_of(ctx)
    body: dict[str, Any] = {
        "model": served.encoder.fingerprint,
        "backend": served.encoder.backend,
        "standin": served.encoder.source.is_standin,
        "collection": served.name,
    }
    if served.refusal:
        return error_body(503, served.refusal, **body)
    if not served.milvus_ok():
        return error_body(503, "vector database unavailable", **body)
    body = {"ok": True, **body, "rows": served.rows, "source_rows": served.source_rows}
    body["index"] = served.index  # "building": Milvus searches the rows not yet indexed exhaustively
    body["collections"] = [other.health() for other in ctx.collections.values()]
    return response.json(body, dumps=dumps)
