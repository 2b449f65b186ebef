"""A scripted stand-in for the service over real HTTP, for the client's and the command's
unit tests: a standard-library server in a thread, on a port of its own, answering each
request with the next scripted answer and recording what it was sent.

An answer is ``(status, body)`` or ``(status, body, headers)``: a dict or list body is sent
as JSON, bytes as they are; or a function of the :class:`Sent` request returning one of
those; or :data:`HANG` (no answer until the server stops) or :data:`DROP` (the connection
closed without an answer)."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from wordsim.netutil import LOOPBACK

RESULT_KEY = "相似度计算的结果为："
HANG, DROP = "hang", "drop"


@dataclass
class Sent:
    path: str
    headers: dict[str, str]
    """Names in lower case."""
    body: Any
    """The request's JSON body, decoded."""


def similar(*hits: tuple[str, float], score: bool = False) -> dict[str, Any]:
    """A /vector_similarity answer in the service's shape: (text, distance) best first;
    ``score``: a calibrated score too (the distance halved)."""
    items = {}
    for rank, (text, distance) in enumerate(hits, start=1):
        item: dict[str, Any] = {"id": rank, "distance": distance}
        if score:
            item["score"] = distance / 2
        item["fields"] = {"id": rank, "text": text}
        items[f"结果{rank}"] = item
    return {RESULT_KEY: items}


def error(status: int, message: str) -> dict[str, Any]:
    return {"ok": False, "error": message, "status": status}


class FakeService:
    """``with FakeService([answer, ...]) as svc``: ``svc.url``, ``svc.sent`` (every request)."""

    def __init__(self, answers: list | None = None) -> None:
        self.answers: deque = deque(answers or [])
        self.sent: list[Sent] = []
        self.released = threading.Event()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                sent = Sent(self.path, headers, json.loads(raw) if raw else None)
                service.sent.append(sent)
                answer = service.answers.popleft() if service.answers else (500, error(500, "unscripted"))
                if callable(answer):
                    answer = answer(sent)
                if answer == HANG:
                    service.released.wait()
                    return
                if answer == DROP:
                    self.close_connection = True
                    return
                status, body, *headers = answer
                payload = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers[0] if headers else {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{LOOPBACK}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)

    def __enter__(self) -> FakeService:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def echo_words(sent: Sent) -> tuple[int, Any]:
    """Answers a list of words with one hit each, the word itself at distance 1.0; a
    /compare of pairs with each pair's index as its distance."""
    if "pairs" in sent.body:
        return 200, {
            "results": [{"a": a, "b": b, "distance": float(i)} for i, (a, b) in enumerate(sent.body["pairs"])]
        }
    return 200, [similar((w, 1.0)) for w in sent.body["usr_input"]]
