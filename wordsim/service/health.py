"""Probes, answered from memory (the watch loop keeps ``app.ctx.status`` fresh):

- ``/livez``: the process serves requests. For a liveness probe: restart the worker if it fails.
- ``/readyz``: model loaded, Milvus reachable, collection loaded and complete. For a readiness
  probe: send no traffic while it fails; it recovers by itself.
- ``/health``: what a person or a monitor wants to see: model, backend, collection, row counts;
  503 while Milvus does not answer.
"""

from __future__ import annotations

from typing import Any

from sanic import Request, response

from wordsim.service.answers import dumps
from wordsim.service.collections import collections_health
from wordsim.service.errors import error_body


async def livez(request: Request) -> response.HTTPResponse:
    return response.json({"ok": True}, dumps=dumps)


async def readyz(request: Request) -> response.HTTPResponse:
    ctx = request.app.ctx
    status = ctx.status
    checks = {
        "model": getattr(ctx, "encoder", None) is not None and not status.refusal,
        "milvus": status.milvus_ok(),
        "collection_loaded": status.loaded,
        "collection_complete": status.complete(),
    }
    if all(checks.values()):
        return response.json({"ok": True, "checks": checks}, dumps=dumps)
    failing = ", ".join(name for name, ok in checks.items() if not ok)
    return error_body(503, f"not ready: {failing}", checks=checks)


async def health(request: Request) -> response.HTTPResponse:
    """Model, backend, collection and its row counts; 503 while Milvus does not answer."""
    ctx = request.app.ctx
    body: dict[str, Any] = {
        "model": ctx.encoder.fingerprint,
        "backend": ctx.encoder.backend,
        "standin": ctx.encoder.source.is_standin,
        "collection": ctx.settings.collection,
    }
    if ctx.status.refusal:
        return error_body(503, ctx.status.refusal, **body)
    if not ctx.status.milvus_ok():
        return error_body(503, "vector database unavailable", **body)
    body = {"ok": True, **body, "rows": ctx.status.rows, "source_rows": ctx.status.source_rows}
    body["index"] = ctx.status.index  # "building": Milvus searches the rows not yet indexed exhaustively
    if hasattr(ctx, "collections"):
        body["collections"] = collections_health(ctx)
    return response.json(body, dumps=dumps)
