"""CORS: lets a browser app on another origin call the API (``WORDSIM_CORS_ORIGINS``).

With no origins configured (the default) nothing here runs and no CORS header is sent.
Otherwise: a preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``)
from an allowed origin is answered 204 with the methods and headers the API uses; from any
other origin, 403 without CORS headers. Actual requests from an allowed origin get
``Access-Control-Allow-Origin`` (errors too, so that the page can read them); from any
other origin they are served without it, and the browser withholds the answer.

A small middleware rather than sanic-ext's CORS: a browser sends no ``X-API-Key`` on a
preflight, so the preflight must be answered before the API key check; sanic-ext adds its
headers in a response middleware, after that check has already refused the preflight.
"""

from __future__ import annotations

from sanic import Request, Sanic, response
from sanic.exceptions import Forbidden

ALLOW_METHODS = "GET, POST, DELETE"
ALLOW_HEADERS = "Content-Type, X-API-Key"
MAX_AGE_S = 600
"""How long a browser may reuse a preflight's answer."""


def parse_origins(raw: str) -> frozenset[str]:
    """``"https://a.example, http://localhost:5173"`` -> the set of origins; ``*`` = any
    (each was checked to be ``scheme://host[:port]`` when the settings were loaded)."""
    return frozenset(o.strip() for o in raw.split(",") if o.strip())


def _allowed(request: Request) -> str | None:
    """The value of ``Access-Control-Allow-Origin`` for this request, or None."""
    origin = request.headers.get("origin")
    origins: frozenset[str] = request.app.ctx.cors_origins
    if not origin or not origins:
        return None
    if "*" in origins:
        return "*"
    return origin if origin in origins else None


async def answer_preflight(request: Request) -> response.HTTPResponse | None:
    """Request middleware, registered before the API key check."""
    if not request.app.ctx.cors_origins or request.method != "OPTIONS" or request.route is None:
        return None
    if not request.headers.get("origin") or not request.headers.get("access-control-request-method"):
        return None  # not a preflight
    allow = _allowed(request)
    if allow is None:
        raise Forbidden("origin not allowed by WORDSIM_CORS_ORIGINS")
    return response.empty(
        status=204,
        headers={
            "Access-Control-Allow-Origin": allow,
            "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": str(MAX_AGE_S),
            "Vary": "Origin",
        },
    )


async def add_cors_headers(request: Request, resp: response.HTTPResponse) -> None:
    """Response middleware: the allow-origin header on answers to allowed origins."""
    allow = _allowed(request)
    if allow is not None:
        resp.headers["Access-Control-Allow-Origin"] = allow
        if allow != "*":
            resp.headers["Vary"] = "Origin"


def attach_cors(app: Sanic) -> None:
    """Read the allowed origins and register the middleware (before the API key check)."""
    app.ctx.cors_origins = parse_origins(app.ctx.settings.cors_origins)
    app.config.CORS = False  # sanic-ext's CORS stays off: see the module doc
    app.on_request(answer_preflight)
    app.on_response(add_cors_headers)
