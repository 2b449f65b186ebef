"""A bare Sanic app answering the benchmark's POST with a fixed body: the HTTP floor
(Sanic + loopback + load client) on this machine, to set against the service's latency.

    python -m bench.probes.noop_app --port 8850
"""

from __future__ import annotations

import json
import sys

from sanic import Sanic, response

from bench.probes.protocol import RESULT_KEY, ROUTE, TOP_K, parser, serve

BODY = json.dumps(
    {
        RESULT_KEY: {
            f"结果{i}": {"id": i, "distance": 1.0, "fields": {"id": i, "text": "词"}} for i in range(TOP_K)
        }
    },
    ensure_ascii=False,
).encode()


def main(argv: list[str] | None = None) -> int:
    p = parser("HTTP floor for the benchmark.")
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args(argv)
    app = Sanic("noop")

    @app.post(ROUTE)
    async def answer(request):
        return response.raw(BODY, content_type="application/json")

    serve(app, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
