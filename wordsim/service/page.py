"""The page at ``/``: plain HTML, CSS and JavaScript from ``static/``, served by the app (no
build step, no CDN: it works offline). It talks to the same JSON API as every client."""

from __future__ import annotations

from pathlib import Path

from sanic import Request, Sanic, response

STATIC_DIR = Path(__file__).with_name("static")


async def index(request: Request) -> response.HTTPResponse:
    return await response.file(STATIC_DIR / "index.html", mime_type="text/html; charset=utf-8")


def attach_page(app: Sanic) -> None:
    app.add_route(index, "/", methods=["GET"], name="page")
    app.static("/static", STATIC_DIR, name="static")
