"""HTTP service: the words closest to a given word, from Milvus.

    python sanic_milvus.py            # serves on WORDSIM_HOST:WORDSIM_PORT (127.0.0.1:8848)
    curl -d usr_input=教师 http://127.0.0.1:8848/vector_similarity

``create_app(settings, backends=None)`` builds the app: each served collection's encoder
and Milvus client are opened once per worker before it serves, unless passed in. The
endpoints are in ``wordsim/service/``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from functools import partial

from sanic import Sanic

from wordsim.service.connections import GuardedHttpProtocol
from wordsim.service.lifecycle import Backends, attach_listeners, close_backends, open_backends
from wordsim.service.metrics import prepare_multiprocess_dir
from wordsim.service.render import dumps
from wordsim.service.routes import attach_endpoints
from wordsim.service.strict_http import TolerantRequest
from wordsim.settings import Settings, configure_logging, load_settings

log = logging.getLogger("wordsim.server")

APP_NAME = "wordsim"


def create_app(
    settings: Settings | None = None, backends: Backends | None = None, name: str = APP_NAME
) -> Sanic:
    """The Sanic app; ``backends``: {collection: (encoder, store)} already opened (the
    single-process server's preflight, tests), used as given and not closed by the app."""
    settings = settings or load_settings()
    app = Sanic(name, dumps=dumps, request_class=TolerantRequest)
    app.config.REQUEST_MAX_SIZE = settings.max_body_bytes
    app.config.REQUEST_TIMEOUT = settings.request_timeout_s
    app.config.RESPONSE_TIMEOUT = settings.request_timeout_s + 5
    app.config.KEEP_ALIVE_TIMEOUT = settings.keep_alive_timeout_s
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.ctx.settings = settings
    app.ctx.backends = backends or {}
    attach_listeners(app)
    attach_endpoints(app)
    return app


def serve_options(settings: Settings) -> dict:
    """How the app is served, one process or several."""
    return {
        "host": settings.host,
        "port": settings.port,
        # Strict head parsing, a connection cap, a whole-request deadline, and the 413/414/431
        # of oversized requests actually received (wordsim/service/connections.py).
        "protocol": GuardedHttpProtocol,
        "access_log": False,  # our own access log (wordsim.access) has no user input
        "motd": False,
    }


def build_parser(settings: Settings) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description="Serve word similarity over HTTP.")
    p.add_argument("--host", default=settings.host)
    p.add_argument("--port", type=int, default=settings.port)
    p.add_argument("--workers", type=int, default=settings.workers)
    p.add_argument("--milvus-uri", default=settings.milvus_uri)
    return p


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    base = load_settings()
    args = build_parser(base).parse_args(argv)
    settings = base.replace(host=args.host, port=args.port, workers=args.workers, milvus_uri=args.milvus_uri)
    if settings.is_milvus_lite and settings.workers > 1:
        log.error("Milvus Lite allows one process per database: use --workers 1 or a Milvus server")
        return 2
    try:
        # Preflight in this process, so a wrong model or a missing collection stops here
        # with one clear message instead of inside every worker.
        backends = open_backends(settings)
    except Exception as exc:
        log.error("cannot start: %s", exc)
        return 2
    prepare_multiprocess_dir(settings.workers)  # before any worker starts (see metrics)
    if settings.workers == 1:
        app = create_app(settings, backends)
        try:
            app.run(**serve_options(settings), single_process=True)
        finally:
            close_backends(backends)
        return 0
    close_backends(backends)
    from sanic.worker.loader import AppLoader

    loader = AppLoader(factory=partial(create_app, settings))
    app = loader.load()
    app.prepare(**serve_options(settings), workers=settings.workers)
    Sanic.serve(primary=app, app_loader=loader)
    return 0


if __name__ == "__main__":
    sys.exit(main())
