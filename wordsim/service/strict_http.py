"""Strict reading of the request head: what RFC 9112 says a server must reject, rejected.

Sanic splits each header line at its first colon and keeps whatever is left of it as the
name, so ``Transfer-Encoding : chunked`` becomes a header named ``transfer-encoding `` that
Sanic does not read as the body's framing, while a proxy in front may: the shape of request
smuggling. Here a field name must be a token right before its colon (no whitespace), no
line may be folded (start with a space or tab), and ``Content-Length`` must be digits only;
anything else answers 400 before a request exists.

A URL that cannot be parsed (a NUL byte in the path) is Sanic's 400 too, but its error
path then builds a stand-in request from the same URL, fails again and answers nothing,
logging two tracebacks: :class:`TolerantRequest` gives the stand-in a plain path instead.
"""

from __future__ import annotations

import re

from sanic.exceptions import BadRequest, BadURL
from sanic.request import Request

READ_HEAD = "http.lifecycle.read_head"
"""The event Sanic dispatches with the raw head of each request, before it reads it."""
FIELD_NAME = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""RFC 9110's token: what a field name may be."""
DIGITS = re.compile(rb"[0-9]+")


def check_head(head: bytes) -> None:
    """400 unless every header line of ``head`` (request line first, no final CRLF) is a
    well-formed field."""
    for line in head.split(b"\r\n")[1:]:
        if line[:1] in (b" ", b"\t"):
            raise BadRequest("obsolete line folding in the request headers")
        name, colon, value = line.partition(b":")
        if not colon or not FIELD_NAME.fullmatch(name):
            raise BadRequest("malformed header field name")
        if name.lower() == b"content-length" and not DIGITS.fullmatch(value.strip(b" \t")):
            raise BadRequest("Content-Length must be a non-negative integer")


async def on_read_head(head: bytes) -> None:
    """Sanic's ``http.lifecycle.read_head`` signal: raised here, the error is the request's
    400 (Sanic strips the signal's dispatch from its reader unless a handler exists)."""
    check_head(head)


def attach_strict_http(app) -> None:
    app.add_signal(on_read_head, READ_HEAD)


class TolerantRequest(Request):
    """Sanic's request, except the stand-in it makes to answer an unreadable URL."""

    PLACEHOLDER_METHOD = "NONE"

    def __init__(self, url_bytes: bytes, *args, **kwargs) -> None:
        try:
            super().__init__(url_bytes, *args, **kwargs)
        except BadURL:
            if kwargs.get("method") != self.PLACEHOLDER_METHOD:
                raise  # the request itself: its 400 is answered through the stand-in below
            super().__init__(b"/", *args, **kwargs)
