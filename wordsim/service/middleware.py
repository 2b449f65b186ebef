"""Request and response middleware: the API key check, the access log and the request metrics."""

from __future__ import annotations

import hmac
import logging
import time

from sanic import Request
from sanic.exceptions import Unauthorized

from wordsim.service import metrics

access = logging.getLogger("wordsim.access")

OPEN_PATHS = frozenset({"/health", "/livez", "/readyz", "/metrics", "/"})
"""Answered without the API key: the probes (orchestrators call them), /metrics (Prometheus
scrapes it: counts only, never user input; README, "Metrics") and the page (it asks for the
key and sends it with its API calls)."""
OPEN_PREFIXES = ("/static/",)


async def check_api_key(request: Request) -> None:
    """401 unless the request names a route and carries the key. A request no route matched
    (404, 405) or that Sanic could not even read (its placeholder for a 400, 413, 414 or 431)
    has nothing to protect: it keeps its own answer, whatever key it sent."""
    request.ctx.t0 = time.perf_counter()
    api_key = request.app.ctx.settings.api_key
    if not api_key or request.route is None:
        return
    if request.path not in OPEN_PATHS and not request.path.startswith(OPEN_PREFIXES):
        # Header values are read as Latin-1 text with undecodable bytes kept as surrogates:
        # encoded back the same way, any byte a client sends compares (and fails) cleanly.
        given = request.headers.get("x-api-key", "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, api_key.encode()):
            raise Unauthorized("missing or wrong X-API-Key header")


async def log_access(request: Request, resp) -> None:
    # Every answer is JSON, the page or its own files, each with its type: never sniffed.
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    started = getattr(request.ctx, "t0", None)
    metrics.observe_request(request, resp.status, started)
    if request.app.ctx.settings.access_log:
        ms = (time.perf_counter() - (started or time.perf_counter())) * 1000
        # Path only: the query string may hold user input, which is not kept in logs.
        access.info("%s %s %s %.1fms", request.method, request.path, resp.status, ms)
