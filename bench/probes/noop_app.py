"""A bare Sanic app answering the benchmark's POST with a fixed body: the HTTP floor
(Sanic + loopback + load client) on this machine, to set against the service's latency.

    python bench/noop_app.py --port 8850
"""

from __future__ import annotations

import argparse
import json
import sys

from sanic import Sanic, response

RESULT_KEY = "相似度计算的结果为："
TOP_K = 3
BODY = json.dumps(
    {
        RESULT_KEY: {
            f"结果{i}": {"id": i, "distance": 1.0, "fields": {"id": i, "text": "词"}} for i in range(TOP_K)
        }
    },
    ensure_ascii=False,
).encode()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="HTTP floor for the benchmark.")
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args(argv)
    app = Sanic("noop")

    @app.post("/vector_similarity")
    async def answer(request):
        return response.raw(BODY, content_type="application/json")

    @app.get("/health")
    async def health(request):
        return response.json({"ok": True})

    app.run(host="127.0.0.1", port=args.port, single_process=True, access_log=False, motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
