"""Server CPU per request at c=1 and throughput at c=16: this checkout's server against an
older commit's, interleaved, several rounds, medians.

    python -m bench.probes.server_cpu                          # own Milvus, 20,000 words
    python -m bench.probes.server_cpu --milvus-uri http://127.0.0.1:19530 --rounds 5
    python -m bench.probes.server_cpu --baseline-dir ../old-checkout --profile

Without ``--milvus-uri`` a private local Milvus is started under bench/out and the first
``--limit`` words of jieba's dictionary are ingested into it (enough for CPU per request:
the server's work does not depend on the collection's size). Every query is a distinct
dictionary word and the answer cache is off (``WORDSIM_ANSWER_CACHE_SIZE=0``), so every
request encodes and searches. Per round and variant: a fresh server, warm-up, ``--requests``
sequential requests (the server process's CPU seconds from psutil, divided by the requests,
and the p50 latency), then c=16 for ``--c16-s`` seconds. With ``--profile`` py-spy records a
flame graph of each variant at c=1 and c=16 in the last round (bench/out/).
"""

from __future__ import annotations

import contextlib
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.common import OUT_DIR, PROJECT_DIR, PYTHON, Service, child_env, cpu_s, run_logged, tree_sum
from bench.phases.plan import CONCURRENCY, SERVER_READY_S, WARM_REQUESTS
from bench.phases.servers import BASELINE_COMMIT, baseline_service, baseline_tree, load, our_service
from bench.probes.protocol import parser
from bench.units import MS_PER_S

NO_CACHE = {"WORDSIM_ANSWER_CACHE_SIZE": "0"}


@contextlib.contextmanager
def milvus_with_words(uri: str | None, limit: int) -> Iterator[str]:
    """``uri`` as given, or a private local Milvus holding the first ``limit`` words."""
    if uri:
        yield uri
        return
    from wordsim.local_milvus.launcher import LocalMilvus

    data_dir = Path(tempfile.mkdtemp(prefix="milvus-cpu-", dir=OUT_DIR))
    with LocalMilvus(port=0, data_dir=data_dir) as lm:
        cmd = [PYTHON, str(PROJECT_DIR / "insert_data_to_milvus.py"), "--drop", "--no-progress"]
        env = child_env(WORDSIM_MILVUS_URI=lm.uri, WORDSIM_COLLECTIONS="")
        if lm.token:
            env["WORDSIM_MILVUS_TOKEN"] = lm.token
        run = run_logged([*cmd, "--limit", str(limit)], env, "server_cpu_ingest.log")
        if run.code != 0:
            raise RuntimeError(f"ingest failed ({run.code}): {run.output[-2000:]}")
        yield lm.uri


def pick_words(n: int, seed: int) -> list[str]:
    """``n`` distinct dictionary words, shuffled."""
    from wordsim.ingest.wordlist import jieba_dict_path, read_words

    words = sorted({w.text for w in read_words(jieba_dict_path()).words})
    random.Random(seed).shuffle(words)
    return words[:n]


def measure(svc: Service, queries: list[str], n: int, c16_s: float, spy: str | None) -> dict:
    """c=1: server CPU ms per request and p50; then c=16 req/s (py-spy records when ``spy``)."""
    from bench.phases.profile import flame_graph

    svc.wait_ready(SERVER_READY_S)
    load(svc, queries[-WARM_REQUESTS:], f"{svc.name}_warm")
    cpu0 = tree_sum(svc.proc.pid, cpu_s)
    c1 = load(svc, queries[:n], f"{svc.name}_c1")
    cpu1 = tree_sum(svc.proc.pid, cpu_s)
    out = {"cpu_ms_per_request": (cpu1 - cpu0) / c1["requests"] * MS_PER_S, "p50_ms": c1["latency_ms"]["p50"]}
    c16 = load(svc, queries[n:-WARM_REQUESTS], f"{svc.name}_c16", concurrency=CONCURRENCY, duration=c16_s)
    out |= {"c16_rps": c16["rps"], "c16_errors": c16["errors"], "c1_errors": c1["errors"]}
    if spy:
        for conc in (1, CONCURRENCY):
            flame_graph(svc, queries[:n], OUT_DIR / f"flame_{spy}_c{conc}.svg", conc, c16_s)
    return out


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--milvus-uri", help="an already-ingested Milvus (default: start one and ingest)")
    p.add_argument("--limit", type=int, default=20000, help="words ingested into the private Milvus")
    p.add_argument(
        "--baseline-dir", type=Path, help=f"the old checkout (default: {BASELINE_COMMIT} extracted)"
    )
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--requests", type=int, default=300, help="sequential requests per c=1 run")
    p.add_argument("--c16-s", type=float, default=8.0, help="seconds of each c=16 run")
    p.add_argument("--profile", action="store_true", help="flame graphs in the last round")
    args = p.parse_args(argv)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    tree = args.baseline_dir.resolve() if args.baseline_dir else baseline_tree()
    per_run = args.requests + WARM_REQUESTS + int(args.c16_s * 2000)
    words = pick_words(per_run * args.rounds * 2, seed=13)
    runs: dict[str, list[dict]] = {"baseline": [], "ours": []}
    with milvus_with_words(args.milvus_uri, args.limit) as uri:
        for r in range(args.rounds):
            order = ["baseline", "ours"] if r % 2 == 0 else ["ours", "baseline"]
            for variant in order:
                k = 2 * r + (variant == "ours")
                queries = words[k * per_run : (k + 1) * per_run]
                if variant == "ours":
                    svc = our_service(f"cpu_ours_{r}", uri, 1, **NO_CACHE)
                else:
                    svc = baseline_service(f"cpu_base_{r}", uri, 1, tree, **NO_CACHE)
                spy = variant if args.profile and r == args.rounds - 1 else None
                with svc:
                    res = measure(svc, queries, args.requests, args.c16_s, spy)
                runs[variant].append(res)
                print(f"round {r} {variant}: {json.dumps(res)}", flush=True)
    summary = {v: {k: statistics.median(x[k] for x in rs) for k in rs[0]} for v, rs in runs.items()}
    summary["ratio"] = {
        "cpu_ms_per_request": summary["ours"]["cpu_ms_per_request"]
        / summary["baseline"]["cpu_ms_per_request"],
        "c16_rps": summary["ours"]["c16_rps"] / summary["baseline"]["c16_rps"],
    }
    print(
        json.dumps({"medians": summary, "baseline": str(tree), "at": time.strftime("%H:%M:%S")}), flush=True
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
