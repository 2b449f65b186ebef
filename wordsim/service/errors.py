"""Every error the service answers is one JSON shape: ``{"ok": false, "error", "status"}``."""

from __future__ import annotations

import logging
from typing import Any

from sanic import Request, response
from sanic.exceptions import RequestCancelled, SanicException, ServiceUnavailable

from wordsim.service.oversize import classify, linger_after_answer
from wordsim.service.render import dumps

log = logging.getLogger("wordsim.server")

CLIENT_CLOSED = 499
UNAVAILABLE = "the vector database is unavailable; try again shortly"
"""The 503 of a Milvus that does not answer (searches and word management alike)."""


class UnsupportedMediaType(SanicException):
    status_code = 415
    quiet = True


def error_body(
    status: int, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> response.HTTPResponse:
    """The one error response; ``extra`` fields (health's model and collection) go
    between ``ok`` and ``error``; ``headers`` such as a 429's ``Retry-After``."""
    return response.json(
        {"ok": False, **extra, "error": message, "status": status},
        status=status,
        headers=headers,
        dumps=dumps,
    )


def body_incomplete(request: Request | None) -> bool:
    """The client announced more body bytes than have arrived."""
    if request is None:
        return False
    try:
        announced = int(request.headers.get("content-length", "0"))
    except ValueError:
        return False
    return len(request.body or b"") < announced


async def render_error(request: Request, exc: Exception) -> response.HTTPResponse:
    """Sanic's exception handler: any exception becomes :func:`error_body`; an unexpected
    one is logged with its traceback and answered 500 without details."""
    exc = classify(request, exc)
    if isinstance(exc, RequestCancelled):
        # The client went away mid-request: nobody receives this answer, and it is no
        # server error (nginx's 499 "client closed request", for the metrics and the log).
        status, message = CLIENT_CLOSED, "client closed the request"
    elif isinstance(exc, ServiceUnavailable) and body_incomplete(request):
        # Sanic reads the body after routing, so a client that stalls mid-body hits
        # the response timeout; it is the client's delay, hence 408, not 503.
        status, message = 408, "request body not received in time"
    elif isinstance(exc, SanicException):
        status = int(exc.status_code)
        message = str(exc) or "error"
    else:
        log.exception("unhandled error on %s %s", request.method, request.path)
        status, message = 500, "internal error"
    if status in (413, 414, 431):
        linger_after_answer(request)  # the client may still be sending
    return error_body(status, message, getattr(exc, "headers", None) or None)
