"""Server CPU per request at c=1 and throughput at c=16: this checkout's server against an
older commit's, interleaved, several rounds, medians (the benchmark's ``versus`` phase on
its own, for quick before/after checks).

    python -m bench.probes.server_cpu                          # own Milvus, 20,000 words
    python -m bench.probes.server_cpu --milvus-uri http://127.0.0.1:19530 --rounds 5
    python -m bench.probes.server_cpu --baseline-dir ../old-checkout --profile

Without ``--milvus-uri`` a private local Milvus is started under bench/out and the first
``--limit`` words of jieba's dictionary are ingested into it (enough for CPU per request:
the server's work hardly depends on the collection's size). Queries are distinct dictionary
words and the answer cache is off, so every request encodes and searches. With
``--profile`` py-spy records flame graphs of both at c=1 and c=16 in the last round
(bench/out/flame/).
"""

from __future__ import annotations

import contextlib
import json
import random
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bench.common import OUT_DIR, PROJECT_DIR, PYTHON, child_env, run_logged
from bench.phases.plan import QUICK, WARM_REQUESTS, Plan
from bench.phases.servers import BASELINE_COMMIT
from bench.phases.versus import versus_baseline
from bench.probes.protocol import parser

C16_RPS_BOUND = 2000
"""Queries a c=16 second may use up (more than this machine answers): each sent once."""


@contextlib.contextmanager
def milvus_with_words(uri: str | None, limit: int) -> Iterator[str]:
    """``uri`` as given, or a private local Milvus holding the first ``limit`` words."""
    if uri:
        yield uri
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
        yield lm.uri


def pick_words(n: int, seed: int) -> list[str]:
    """``n`` distinct dictionary words, shuffled."""
    from wordsim.ingest.wordlist import jieba_dict_path, read_words

    words = sorted({w.text for w in read_words(jieba_dict_path()).words})
    random.Random(seed).shuffle(words)
    return words[:n]


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__)
    p.add_argument("--milvus-uri", help="an already-ingested Milvus (default: start one and ingest)")
    p.add_argument("--limit", type=int, default=20000, help="words ingested into the private Milvus")
    p.add_argument("--baseline-dir", type=Path, help=f"old checkout (default: {BASELINE_COMMIT}, extracted)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--requests", type=int, default=300, help="sequential requests per c=1 run")
    p.add_argument("--c16-s", type=float, default=8.0, help="seconds of each c=16 run (and of each profile)")
    p.add_argument("--profile", action="store_true", help="flame graphs in the last round")
    args = p.parse_args(argv)
    sizes = {"n_dict": args.requests, "tp_s": args.c16_s, "profile_s": args.c16_s}
    plan = Plan(**(QUICK.__dict__ | sizes | {"versus_rounds": args.rounds}))
    queries = pick_words(args.requests + WARM_REQUESTS + int(args.c16_s * C16_RPS_BOUND), seed=13)
    tree = args.baseline_dir.resolve() if args.baseline_dir else None
    with milvus_with_words(args.milvus_uri, args.limit) as uri:
        res = versus_baseline(uri, queries, plan, profile=args.profile, where=OUT_DIR / "flame", tree=tree)
    for variant, runs in res["rounds"].items():
        for i, run in enumerate(runs):
            print(f"{variant} round {i}: {json.dumps(run)}")
    print(
        json.dumps(
            {
                k: res[k]
                for k in ("commit", "medians", "cpu_ratio", "c16_ratio", "c16_ratio_same_ef", "flame_graphs")
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
