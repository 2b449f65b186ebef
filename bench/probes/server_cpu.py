"""Server CPU per request at c=1 and c=16, Milvus' beside it, and the c=16 req/s: the request
path's cost without the whole benchmark, for before/after checks.

    python -m bench.probes.server_cpu                          # own Milvus, 20,000 words
    python -m bench.probes.server_cpu --milvus-uri http://127.0.0.1:19530 --rounds 5
    python -m bench.probes.server_cpu --against 53ffa89 --profile

Without ``--milvus-uri`` a private local Milvus is started under bench/out and the first
``--limit`` words of jieba's dictionary are ingested into it (enough for CPU per request: the
server's work hardly depends on the collection's size); with it, Milvus' CPU is measured only
given ``--milvus-pid``. Every round starts a fresh server per variant (WORKERS=1,
EXECUTOR_THREADS=2, answer cache off, so that every request encodes and searches): this
checkout, and with ``--against REV`` that commit's files (``git archive``, run from there so
that it imports its own ``wordsim``). The order alternates between rounds, so that neither
variant always runs first on a machine whose load drifts. WORDSIM_* variables reach both
servers (``WORDSIM_SEARCH_EF=512`` compares two commits at one ef). With ``--profile``, py-spy
flame graphs of each variant at c=1 and c=16 in the last round (bench/out/flame/). Prints
every round, then one JSON line of medians.
"""

from __future__ import annotations

import contextlib
import json
import random
import statistics
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.common import OUT_DIR, PROJECT_DIR, PYTHON, Service, child_env, run_logged
from bench.phases.flame_graphs import flame_graphs
from bench.phases.plan import CONCURRENCY, SERVER_READY_S, WARM_REQUESTS
from bench.phases.servers import checkout_service, commit_tree, load, our_service
from bench.phases.service import load_with_cpu
from bench.probes.protocol import parser

C16_RPS_BOUND = 2000
"""Queries a c=16 second may use up (more than this machine answers): each sent once."""
FIRST_START_S = 600.0
"""How long another commit's first start may take: it exports its ONNX model then."""
NO_CACHE = {"WORDSIM_ANSWER_CACHE_SIZE": "0"}


@contextlib.contextmanager
def milvus_with_words(uri: str | None, pid: int | None, limit: int) -> Iterator[tuple[str, int | None]]:
    """(``uri``, ``pid``) as given, or a private local Milvus holding the first ``limit`` words
    and its process tree's root."""
    if uri:
        yield uri, pid
        return
    from wordsim.local_milvus.launcher import LocalMilvus

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="milvus-cpu-", dir=OUT_DIR))
    with LocalMilvus(port=0, data_dir=data_dir) as lm:
        cmd = [PYTHON, str(PROJECT_DIR / "insert_data_to_milvus.py"), "--drop", "--no-progress"]
        env = child_env(WORDSIM_MILVUS_URI=lm.uri, WORDSIM_COLLECTIONS="")
        if lm.token:
            env["WORDSIM_MILVUS_TOKEN"] = lm.token
        run = run_logged([*cmd, "--limit", str(limit)], env, "server_cpu_ingest.log")
        if run.code != 0:
            raise RuntimeError(f"ingest failed ({run.code}): {run.output[-2000:]}")
        yield lm.uri, int(lm.pid_file.read_text().split()[0])


def pick_words(n: int, seed: int) -> list[str]:
    """``n`` distinct dictionary words, shuffled."""
    from wordsim.ingest.wordlist import jieba_dict_path, read_words

    words = sorted({w.text for w in read_words(jieba_dict_path()).words})
    random.Random(seed).shuffle(words)
    return words[:n]


def server(name: str, uri: str, tree: Path | None) -> Service:
    """This checkout's server (``tree`` None) or the one of the files in ``tree``, cache off."""
    if tree is None:
        return our_service(name, uri, 1, **NO_CACHE)
    return checkout_service(name, uri, 1, tree, **NO_CACHE)


def measure(svc: Service, queries: list[str], n1: int, c16_s: float, milvus: int | None) -> dict:
    """c=1 over ``queries[:n1]``, then c=16 for ``c16_s`` seconds over the rest."""
    svc.wait_ready(FIRST_START_S if svc.cwd != PROJECT_DIR else SERVER_READY_S)
    load(svc, queries[-WARM_REQUESTS:], f"{svc.name}_warm")
    one = load_with_cpu(svc, queries[:n1], f"{svc.name}_c1", milvus)
    many = load_with_cpu(
        svc, queries[n1:], f"{svc.name}_c16", milvus, concurrency=CONCURRENCY, duration=c16_s
    )
    return {
        "c1_cpu_ms_per_request": one["cpu_ms_per_request"],
        "c1_p50_ms": one["latency_ms"]["p50"],
        "c16_cpu_ms_per_request": many["cpu_ms_per_request"],
        "c16_rps": many["rps"],
        "errors": one["errors"] + many["errors"],
    }


def medians(runs: list[dict]) -> dict:
    """The median over the rounds of every figure (per party for the CPU)."""
    out: dict = {k: statistics.median(r[k] for r in runs) for k in ("c1_p50_ms", "c16_rps")}
    for k in ("c1_cpu_ms_per_request", "c16_cpu_ms_per_request"):
        out[k] = {who: statistics.median(r[k][who] for r in runs) for who in runs[0][k]}
    return out


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--milvus-uri", help="an already-ingested Milvus (default: start one and ingest)")
    p.add_argument("--milvus-pid", type=int, help="with --milvus-uri: its process, to measure its CPU too")
    p.add_argument("--limit", type=int, default=20000, help="words ingested into the private Milvus")
    p.add_argument("--against", metavar="REV", help="also measure this commit's server")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--requests", type=int, default=300, help="sequential requests per c=1 run")
    p.add_argument("--c16-s", type=float, default=8.0, help="seconds of each c=16 run (and of each profile)")
    p.add_argument("--profile", action="store_true", help="flame graphs in the last round")
    args = p.parse_args(argv)
    queries = pick_words(args.requests + WARM_REQUESTS + int(args.c16_s * C16_RPS_BOUND), seed=13)
    trees = {"ours": None} | ({args.against: commit_tree(args.against)} if args.against else {})
    variants = list(trees)
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    graphs: dict[str, dict] = {}
    with milvus_with_words(args.milvus_uri, args.milvus_pid, args.limit) as (uri, milvus):
        for r in range(args.rounds):
            for v in variants if r % 2 == 0 else variants[::-1]:
                with server(f"server_cpu_{v}_{r}", uri, trees[v]) as svc:
                    runs[v].append(measure(svc, queries, args.requests, args.c16_s, milvus))
                    print(f"{v} round {r}: {json.dumps(runs[v][-1])}", flush=True)
                    if args.profile and r == args.rounds - 1:
                        graphs[v] = flame_graphs(
                            svc, queries[args.requests :], v, args.c16_s, OUT_DIR / "flame"
                        )
    print(json.dumps({"medians": {v: medians(rs) for v, rs in runs.items()}, "flame_graphs": graphs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
