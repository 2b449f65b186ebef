"""Hostile clients of the bench's hostile phase (asyncio), one kind per process:

    python -m bench.probes.hostile_client compare --port 8848 --connections 4 --seconds 60
    python -m bench.probes.hostile_client idle --port 8848 --connections 10250 --seconds 60

- ``compare``: each connection loops ``/compare`` with 64 pairs of 64-character texts;
- ``lists``: each loops ``/vector_similarity`` with a JSON list of 64 such texts, top_k=100;
- ``idle``: each connects and sends nothing; when the server closes it, it connects again;
- ``trickle``: each sends a request head a byte a second until it is answered (408 expected);
- ``flood``: each sends made-up methods (FOO, a 7,000-letter name, lower-case get, a new
  name each time) and ``min_freq=9223372036854775808``, one request per connection.

Texts are random CJK characters, new in every request, so no answer comes from the cache.
Runs until SIGTERM, ``--seconds`` or ``--requests``, then prints one JSON line: answers by
kind and status, errors, and (``idle``) the connections held each second after ``--ramp``;
``--watch`` also GETs ``/readyz`` once a second on a fresh connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import signal
import socket
import sys
import time
from collections import Counter

from bench.probes.load_client import ERROR_SAMPLES, read_response
from bench.probes.protocol import HOST, ROUTE, emit, parser

ITEMS = 64
"""Pairs of /compare, words of a list: the service's WORDSIM_MAX_INPUTS."""
CHARS = 64
"""Characters of each text: WORDSIM_MAX_TEXT_CHARS."""
TOP_K = 100
"""WORDSIM_MAX_TOP_K."""
CJK = (0x4E00, 0x9FFF)
CONNECTS_AT_ONCE = 256
"""Connection attempts in flight at once per process (``idle``)."""
WATCH_TIMEOUT_S = 5.0
FLOOD = {
    "FOO": "FOO /vector_similarity",
    "long_method": "M" * 7000 + " /health",
    "lower_get": "get /health",
    "new_method": "X{i}Y /vector_similarity",
    "min_freq": f"GET {ROUTE}?usr_input=%E4%B8%80&min_freq=9223372036854775808",
}
"""The flood's request lines by kind (``{i}``: a new method name each time)."""
FLOOD_KINDS = tuple(FLOOD)
CLOSE = "Connection: close\r\n"
KINDS = ("compare", "lists", "idle", "trickle", "flood")


class Tally:
    def __init__(self) -> None:
        self.answers: dict[str, Counter] = {}
        self.errors = 0
        self.error_samples: list[str] = []
        self.held = 0
        self.connects = 0
        self.held_samples: list[int] = []
        self.answer_s: list[float] = []

    def answer(self, kind: str, status: int | str) -> None:
        self.answers.setdefault(kind, Counter())[str(status)] += 1

    def error(self, exc: BaseException) -> None:
        self.errors += 1
        if len(self.error_samples) < ERROR_SAMPLES:
            self.error_samples.append(f"{type(exc).__name__}: {exc}")


def request(method_path: str, body: bytes = b"", headers: str = "") -> bytes:
    head = f"{method_path} HTTP/1.1\r\nHost: {HOST}\r\n{headers}"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


def heavy_request(kind: str, rng: random.Random) -> bytes:
    texts = ["".join(chr(rng.randint(*CJK)) for _ in range(CHARS)) for _ in range(2 * ITEMS)]
    if kind == "compare":
        path, obj = "POST /compare", {"pairs": [texts[i : i + 2] for i in range(0, 2 * ITEMS, 2)]}
    else:
        path, obj = f"POST {ROUTE}", {"usr_input": texts[:ITEMS], "top_k": TOP_K}
    return request(path, json.dumps(obj, ensure_ascii=False).encode())


async def heavy(kind: str, port: int, rng: random.Random, tally: Tally) -> None:
    """Loop heavy requests on one keep-alive connection (a new one when it closes)."""
    writer = None
    while True:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(heavy_request(kind, rng))
            status, _, keep = await read_response(reader)
            tally.answer(kind, status)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            tally.error(exc)
            keep = False
            await asyncio.sleep(0.1)
        if not keep and writer is not None:
            writer.close()
            writer = None


async def idle(port: int, tally: Tally, connecting: asyncio.Semaphore) -> None:
    """Hold one silent connection; connect again whenever the server closes it."""
    loop = asyncio.get_running_loop()
    while True:
        sock = socket.socket()
        sock.setblocking(False)
        try:
            async with connecting:
                await loop.sock_connect(sock, (HOST, port))
            tally.connects += 1
            tally.held += 1
            try:
                data = await loop.sock_recv(sock, 65536)  # b"" once the server closes it
            finally:
                tally.held -= 1
            tally.answer("idle", data[9:12].decode(errors="replace") if data else "closed")
        except OSError as exc:
            tally.error(exc)
            await asyncio.sleep(0.5)
        finally:
            sock.close()


async def one_request(port: int, data: bytes, drip: bool = False) -> int:
    """The status of one request on a fresh connection (``drip``: a byte a second after it)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(data)
        if not drip:
            return (await read_response(reader))[0]
        dripping = asyncio.create_task(_drip(writer))
        try:
            return (await read_response(reader))[0]
        finally:
            dripping.cancel()
    finally:
        writer.close()


async def _drip(writer: asyncio.StreamWriter) -> None:
    while True:
        await asyncio.sleep(1.0)
        writer.write(b"a")


async def trickle(port: int, tally: Tally) -> None:
    while True:
        t0 = time.perf_counter()
        try:
            status = await one_request(port, request("GET /health", headers="X-Slow: "), drip=True)
            tally.answer("trickle", status)
            tally.answer_s.append(time.perf_counter() - t0)
        except asyncio.IncompleteReadError:
            tally.answer("trickle", "closed")
        except (OSError, ValueError) as exc:
            tally.error(exc)
            await asyncio.sleep(0.5)


async def flood(port: int, tally: Tally, numbers: itertools.count, limit: int) -> None:
    while (i := next(numbers)) < limit:
        kind = FLOOD_KINDS[i % len(FLOOD_KINDS)]
        try:
            status = await one_request(port, request(FLOOD[kind].format(i=i), headers=CLOSE))
            tally.answer(kind, status)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            tally.error(exc)


async def watch(port: int, tally: Tally) -> None:
    while True:
        try:
            status = await asyncio.wait_for(one_request(port, request("GET /readyz")), WATCH_TIMEOUT_S)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            status = "no answer"
        tally.answer("readyz", status)
        await asyncio.sleep(1.0)


async def sample_held(tally: Tally, ramp: float) -> None:
    await asyncio.sleep(ramp)
    while True:
        tally.held_samples.append(tally.held)
        await asyncio.sleep(1.0)


async def attack(args) -> dict:
    tally, rng, connecting = Tally(), random.Random(args.seed), asyncio.Semaphore(CONNECTS_AT_ONCE)
    numbers, limit = itertools.count(), args.requests or sys.maxsize
    make = {
        "compare": lambda: heavy("compare", args.port, rng, tally),
        "lists": lambda: heavy("lists", args.port, rng, tally),
        "idle": lambda: idle(args.port, tally, connecting),
        "trickle": lambda: trickle(args.port, tally),
        "flood": lambda: flood(args.port, tally, numbers, limit),
    }[args.kind]
    workers = [asyncio.create_task(make()) for _ in range(args.connections)]
    helpers = [asyncio.create_task(sample_held(tally, args.ramp))]
    helpers += [asyncio.create_task(watch(args.port, tally))] if args.watch else []
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    waiting, everyone = asyncio.create_task(stop.wait()), asyncio.gather(*workers, return_exceptions=True)
    await asyncio.wait([waiting, everyone], timeout=args.seconds, return_when=asyncio.FIRST_COMPLETED)
    for task in [waiting, *workers, *helpers]:
        task.cancel()
    for done in [*await everyone, *await asyncio.gather(*helpers, return_exceptions=True)]:
        if isinstance(done, Exception):
            tally.error(done)
    return {
        "kind": args.kind,
        "connections": args.connections,
        "answers": {k: dict(v) for k, v in tally.answers.items()},
        "errors": tally.errors,
        "error_samples": tally.error_samples,
        "connects": tally.connects,
        "held_samples": tally.held_samples if args.kind == "idle" else [],
        "answer_s": tally.answer_s,
    }


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--seconds", type=float, default=60.0, help="end by then at the latest")
    p.add_argument("--requests", type=int, default=0, help="flood: stop after this many (0: no limit)")
    p.add_argument("--ramp", type=float, default=0.0, help="idle: count held connections after this")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--watch", action="store_true", help="also GET /readyz once a second")
    args = p.parse_args(argv)
    from wordsim.service.connections import raise_file_limit  # the server's own, for the client

    raise_file_limit()
    emit(asyncio.run(attack(args)))
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
