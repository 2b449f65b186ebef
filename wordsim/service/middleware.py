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
    request.ctx.t0 = time.perf_counter()
    api_key = request.app.ctx.settings.api_key
    if api_key and request.path not in OPEN_PATHS and not request.path.startswith(OPEN_PREFIXES):
        given = request.headers.get("x-api-key", "")
        if not hmac.compare_digest(given.encode(), api_key.encode()):
            raise Unauthorized("missing or wrong X-API-Key header")


async def log_access(request: Request, resp) -> None:
    started = getattr(request.ctx, "t0", None)
    metrics.observe_request(request, resp.status, started)
    if request.app.ctx.settings.access_log:
        ms = (time.perf_counter() - (started or time.perf_counter())) * 1000
        # Path only: the query string may hold user input, which is not kept in logs.
        access.info("%s %s %s %.1fms", request.method, request.path, resp.status, ms)
