"""Closed-loop HTTP/1.1 load client for ``POST /vector_similarity`` (stdlib asyncio only).

    python -m bench.probes.load_client --port 8848 --queries q.json --concurrency 1 --out r.json
    python -m bench.probes.load_client --port 8848 --queries q.json --concurrency 16 --duration 30

Each of ``--concurrency`` keep-alive connections sends one form POST, waits for the whole
answer, and sends the next; queries are taken in order from the shared list (each once
with no ``--duration``; cycled when a timed run outlasts the list, counted as ``wrapped``).
A hand-written client rather than httpx: on a small machine the client shares the CPU
with the server and Milvus, and this one does little more than write and read bytes.
Every answer is checked: status 200 and a JSON body with ``--top-k`` results.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from bench.probes.protocol import HOST, RESULT_KEY, ROUTE, TOP_K, add_queries_arg, parser, read_texts
from bench.units import NS_PER_MS, NS_PER_S

ERROR_SAMPLES = 5
CONNECT_TIMEOUT_S = 10.0


@dataclass
class Tally:
    """What the connections recorded."""

    latencies_ms: list[float] = field(default_factory=list)
    done_at_s: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    """Answers by HTTP status (recorded ones only)."""

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_samples) < ERROR_SAMPLES:
            self.error_samples.append(message)


def build_request(host: str, port: int, text: str) -> bytes:
    body = urlencode({"usr_input": text}).encode()
    head = (
        f"POST {ROUTE} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, server keeps the connection open)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, keep = 0, True
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection" and value.strip().lower() == "close":
            keep = False
    body = await reader.readexactly(length) if length else b""
    return status, body, keep


def check_answer(status: int, body: bytes, top_k: int) -> str | None:
    """None if the answer is a correct similarity answer, else what is wrong."""
    if status != 200:
        return f"status {status}: {body[:200]!r}"
    try:
        results = json.loads(body)[RESULT_KEY]
    except (ValueError, KeyError, TypeError):
        return f"unexpected body {body[:200]!r}"
    if len(results) != top_k:
        return f"{len(results)} results, expected {top_k}"
    return None


async def connection(
    host: str,
    port: int,
    requests: Iterator[bytes],
    top_k: int,
    t0_ns: int,
    deadline_ns: int | None,
    record_from_ns: int,
    tally: Tally,
) -> None:
    """One keep-alive connection sending requests until they or the time run out."""
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        for req in requests:
            if deadline_ns is not None and time.perf_counter_ns() >= deadline_ns:
                break
            try:  # a connection refused, timed out or closed is an error, not the end of the run
                if writer is None:
                    reader, writer = await asyncio.wait_for(
                        asyncio.open_connection(host, port), CONNECT_TIMEOUT_S
                    )
                start = time.perf_counter_ns()
                writer.write(req)
                status, body, keep = await read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                tally.error(f"{type(exc).__name__}: {exc}")
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            end = time.perf_counter_ns()
            if end >= record_from_ns:
                tally.statuses[status] += 1
                problem = check_answer(status, body, top_k)
                at_s = (end - t0_ns) / NS_PER_S
                if problem:
                    tally.error(problem)
                else:
                    tally.latencies_ms.append((end - start) / NS_PER_MS)
                    tally.done_at_s.append(at_s)
            if not keep:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


async def run_load(args: argparse.Namespace, queries: list[str]) -> dict:
    reqs = [build_request(args.host, args.port, q) for q in queries]
    timed = args.duration is not None
    source: Iterator[bytes] = itertools.cycle(reqs) if timed else iter(reqs)
    shared = iter(source)  # one iterator: each request is taken by exactly one connection
    t0 = time.perf_counter_ns()
    record_from = t0 + int(args.warmup * NS_PER_S)
    deadline = record_from + int(args.duration * NS_PER_S) if timed else None
    tally = Tally()
    await asyncio.gather(
        *(
            connection(args.host, args.port, shared, args.top_k, t0, deadline, record_from, tally)
            for _ in range(args.concurrency)
        )
    )
    elapsed = (time.perf_counter_ns() - record_from) / NS_PER_S
    sent = len(tally.latencies_ms) + tally.errors
    return {
        "concurrency": args.concurrency,
        "warmup_s": args.warmup,
        "duration_s": elapsed,
        "requests": len(tally.latencies_ms),
        "errors": tally.errors,
        "error_samples": tally.error_samples,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "distinct_queries": len(queries),
        "wrapped": timed and sent > len(queries),
        "rps": len(tally.latencies_ms) / elapsed if elapsed > 0 else 0.0,
        "latencies_ms": tally.latencies_ms,
        "done_at_s": tally.done_at_s,
    }


def build_parser() -> argparse.ArgumentParser:
    p = parser(__doc__)
    p.add_argument("--host", default=HOST)
    p.add_argument("--port", type=int, required=True)
    add_queries_arg(p)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--duration", type=float, help="seconds to measure (default: each query once)")
    p.add_argument("--warmup", type=float, default=0.0, help="seconds of unrecorded load first")
    p.add_argument("--top-k", type=int, default=TOP_K, help="results every answer must hold")
    p.add_argument("--out", type=Path, help="write the JSON result here (default: stdout)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    queries = read_texts(args.queries)
    try:
        import uvloop

        result = uvloop.run(run_load(args, queries))
    except ImportError:
        result = asyncio.run(run_load(args, queries))
    text = json.dumps(result)
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
