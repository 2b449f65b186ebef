"""Sustained load against the service on the local Milvus server: 60 s at 16 concurrent
connections, no errors, and the memory of every process flat after warm-up."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time

import httpx
import psutil
import pytest

from support import run_ingest_process, start_server, stop_server
from wordsim.ingest.wordlist import jieba_dict_path, read_words

pytestmark = pytest.mark.milvus_server
DURATION_S = 60.0
WARMUP_S = 10.0
CONCURRENCY = 16
RSS_TOLERANCE = 0.05


@pytest.fixture(scope="module")
def server(server_env, tmp_path_factory):
    env = {**server_env, "WORDSIM_COLLECTION": "load", "WORDSIM_ACCESS_LOG": "0"}
    done = run_ingest_process(env)
    assert done.returncode == 0, done.stderr[-2000:]
    srv = start_server(env, tmp_path_factory.mktemp("load_log") / "server.log")
    yield srv
    stop_server(srv)


async def hammer(url: str, words: list[str], stop_at: float) -> tuple[int, list[str]]:
    """Closed-loop load: CONCURRENCY clients, each sending its next query as soon as the
    last one is answered, until ``stop_at``. Returns (requests, errors)."""
    errors: list[str] = []
    count = 0
    rng = random.Random(3)

    async def client(http: httpx.AsyncClient) -> None:
        nonlocal count
        while time.monotonic() < stop_at:
            word = rng.choice(words)
            try:
                resp = await http.post(url, data={"usr_input": word, "top_k": "3"})
                if resp.status_code != 200:
                    errors.append(f"{resp.status_code} {resp.text[:100]}")
            except httpx.HTTPError as exc:
                errors.append(repr(exc))
            count += 1

    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        await asyncio.gather(*(client(http) for _ in range(CONCURRENCY)))
    return count, errors


def tree_rss(pids: list[int]) -> dict[int, int]:
    out = {}
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            out[pid] = psutil.Process(pid).memory_info().rss
    return out


def test_sixty_seconds_at_16_connections(server, local_milvus):
    words = [w.text for w in read_words(jieba_dict_path(), limit=200_000).words[::40]]
    milvus_pids = [p.pid for p in psutil.Process(local_milvus._proc.pid).children(recursive=True)]
    pids = [server.proc.pid, *milvus_pids]
    samples: list[tuple[float, dict[int, int]]] = []

    async def run() -> tuple[int, list[str]]:
        start = time.monotonic()
        load = asyncio.create_task(hammer(server.url + "/vector_similarity", words, start + DURATION_S))
        while not load.done():
            samples.append((time.monotonic() - start, tree_rss(pids)))
            await asyncio.sleep(1.0)
        return await load

    count, errors = asyncio.run(run())
    assert count > 1000, count
    assert errors == [], errors[:5]
    after_warmup = next(rss for t, rss in samples if t >= WARMUP_S)
    final = samples[-1][1]
    for pid, base in after_warmup.items():
        if pid in final and base > 50 * 2**20:  # helpers of a few MB jitter by pages
            growth = final[pid] / base - 1
            assert growth <= RSS_TOLERANCE, (
                f"pid {pid} RSS grew {growth:.1%} ({base >> 20} -> {final[pid] >> 20} MiB)"
            )
    print(
        f"\n{count} requests in {DURATION_S:.0f} s ({count / DURATION_S:.0f} req/s), 0 errors; RSS MiB "
        + ", ".join(f"{pid}: {after_warmup[pid] >> 20}->{final.get(pid, 0) >> 20}" for pid in after_warmup)
    )
