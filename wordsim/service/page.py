"""The page at ``/``: plain HTML, CSS and JavaScript from ``static/``, served by the app (no
build step, no CDN: it works offline). It talks to the same JSON API as every client.

The static files are a fixed table read once at start, not a folder mapped onto the file
system: a path that names no file in it (``/static/``, a NUL byte, a name too long for the
file system, ``..``) is a plain 404, never a file-system error.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from sanic import Request, Sanic, response
from sanic.exceptions import NotFound
from sanic_ext import openapi

STATIC_DIR = Path(__file__).with_name("static")
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
PAGE_HEADERS = {
    # The page loads only its own files and calls only its own API; nobody may frame it.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _table() -> dict[str, tuple[bytes, str]]:
    """File name -> (content, content type) of every file in ``static/``."""
    return {
        path.name: (
            path.read_bytes(),
            TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream",
        )
        for path in sorted(STATIC_DIR.iterdir())
        if path.is_file()
    }


async def index(request: Request) -> response.HTTPResponse:
    body, content_type = request.app.ctx.static_files["index.html"]
    return response.raw(body, content_type=content_type, headers=PAGE_HEADERS)


@openapi.exclude()  # the page's own files, not part of the API
async def static_file(request: Request, name: str) -> response.HTTPResponse:
    found = request.app.ctx.static_files.get(name)
    if found is None:
        raise NotFound("no such file")
    body, content_type = found
    return response.raw(body, content_type=content_type, headers={"Cache-Control": "no-cache"})


def attach_page(app: Sanic) -> None:
    app.ctx.static_files = _table()
    app.add_route(index, "/", methods=["GET"], name="page")
    app.add_route(static_file, "/static/<name:str>", methods=["GET"], name="static")
