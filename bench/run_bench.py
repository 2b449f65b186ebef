"""The benchmark of today's code: ingest, encoder, latency, throughput, recall, cold start,
profiles, a soak and hostile clients, all in one run on this machine (``make bench``).

    .venv/bin/python -m bench.run_bench            # full run, writes bench/RESULTS.md
    .venv/bin/python -m bench.run_bench --quick    # smoke run (plan QUICK), writes bench/out/
    .venv/bin/python -m bench.run_bench --render bench/results.json   # only rewrite RESULTS.md

Run from the project directory (probes are started as ``python -m bench.probes.<name>``).
A private Milvus server (``wordsim.local_milvus.launcher.LocalMilvus``) on a free port, with its
data under ``bench/out/``, serves every phase and is stopped at the end, also on errors and
Ctrl-C. Timings on a small shared machine are noisy: every comparison is between
figures of the same run, and medians (p50) are quoted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import time
from dataclasses import asdict
from pathlib import Path

from bench.common import BENCH_DIR, OUT_DIR, summarize
from bench.phases.encoder import encoder_alone
from bench.phases.flame_graphs import default_profiles
from bench.phases.hostile import hostile
from bench.phases.ingest import ingest
from bench.phases.plan import FULL, OURS, QUICK, WARM_REQUESTS, Plan
from bench.phases.queries import pick_queries
from bench.phases.search import search_phase
from bench.phases.servers import our_service
from bench.phases.service import cold_start, measure_service, soak
from bench.probes.protocol import TOP_K, write_texts
from bench.record import run_meta, strip_private
from bench.report.document import write_report

SEED = 20240601
POOL_SEGMENTS = ("w1_tp", "profile", "w2_tp", "soak")
"""Disjoint slices of the query pool, so that no timed run repeats a cached query."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    quick = f"short smoke run ({QUICK.limit:,} words, {QUICK.tp_s:g} s phases)"
    p.add_argument("--quick", action="store_true", help=quick)
    p.add_argument("--limit", type=int, help="words ingested (default: the whole dictionary)")
    p.add_argument("--soak", action="store_true", help="run the soak in a --quick run too")
    p.add_argument("--no-profile", action="store_true", help="skip the py-spy profiles and flame graphs")
    p.add_argument("--keep-data", action="store_true", help="keep the Milvus data dir in bench/out")
    p.add_argument(
        "--render", type=Path, metavar="RESULTS_JSON", help="only rewrite the report of a results file"
    )
    return p


def run(args: argparse.Namespace, plan: Plan, results: dict) -> dict:
    """Every phase, in order; ``results`` fills up as they finish (kept if one fails)."""
    # The project's package, imported here so that --render works without it.
    from wordsim.ingest.wordlist import jieba_dict_path, read_words
    from wordsim.local_milvus.launcher import LocalMilvus
    from wordsim.settings import load_settings

    settings = load_settings()
    started = time.perf_counter()
    results |= {
        "meta": run_meta("bench.run_bench") | {"phases_s": PHASES},
        "plan": asdict(plan),
        "settings": {k: getattr(settings, k) for k in ("search_ef", "hnsw_m", "hnsw_ef_construction")}
        | {"index_type": settings.index_type, "encoder_backend": settings.encoder_backend, "top_k": TOP_K},
    }
    every = [w.text for w in read_words(jieba_dict_path()).words]
    texts = every[: plan.limit] if plan.limit else every
    q = pick_queries(texts, set(every), plan.n_dict, plan.n_ood, SEED, settings.max_text_chars)
    pools = q.segments(POOL_SEGMENTS)
    results["queries"] = {
        "seed": SEED,
        "dictionary": len(q.dictionary),
        "ood": len(q.ood),
        "pool_segment": len(pools[POOL_SEGMENTS[0]]),
    }
    results["queries"]["examples"] = {"dictionary": q.dictionary[:5], "ood": q.ood[:5]}
    qfile = write_texts(OUT_DIR / "queries_encode.json", q.dictionary + q.ood)

    data_dir = OUT_DIR / f"milvus-{os.getpid()}"
    lm = LocalMilvus(settings, port=0, data_dir=data_dir)
    try:
        t0 = time.perf_counter()
        lm.start()
        results["meta"]["milvus_start_s"] = time.perf_counter() - t0
        milvus_root = int(lm.pid_file.read_text().split()[0])
        step("encoder alone")
        enc = encoder_alone(plan.limit, qfile, milvus_root)
        one = enc.pop("encode_one_ms")
        enc["encode_one_ms"] = {
            "dict": summarize(one[: len(q.dictionary)]),
            "ood": summarize(one[len(q.dictionary) :]),
        }
        results["encoder"] = enc
        results["meta"] |= {"model_fingerprint": enc["fingerprint"], "encoder_backend": enc["backend"]}
        step("ingest (+ compaction)")
        milvus_log = data_dir / "logs" / "milvus-stdout.log"
        results["ingest"] = ingest(lm.uri, plan.limit, settings.collection, milvus_log, milvus_root)
        step("search only + recall")
        results["search"] = search_phase(lm.uri, milvus_root, settings, q)
        step("cold start")
        results["cold_start"] = cold_start(lm.uri, plan.cold_runs)
        services = results["services"] = {}
        for name, workers in OURS.items():
            step(f"service {name}")
            with our_service(name, lm.uri, workers) as svc:
                pool = pools["w1_tp" if workers == 1 else "w2_tp"]
                services[name] = measure_service(svc, q, pool, plan, milvus_root, cached=workers == 1)
        if not args.no_profile:
            step("profiles")
            # Beside the report: a smoke run's go to bench/out, not over the last full run's.
            where = (OUT_DIR if args.quick else BENCH_DIR) / "profiles"
            results["profiles"] = default_profiles(
                lm.uri, pools["profile"], q.pool[-WARM_REQUESTS:], plan, where
            )
        if plan.soak or args.soak:
            step("soak")
            results["soak"] = soak(lm.uri, pools["soak"], plan, milvus_root)
        step("hostile clients")
        results["hostile"] = hostile(lm.uri, texts, results["ingest"]["rows"], plan.hostile_s)
    finally:
        lm.stop()
        if not args.keep_data:
            shutil.rmtree(data_dir, ignore_errors=True)
    step("report")
    results["meta"]["loadavg_end"] = os.getloadavg()
    results["meta"]["wall_s"] = time.perf_counter() - started
    return results


PHASES: dict[str, float] = {}
"""Wall seconds of each phase of the run, in order."""
_phase_started: list[tuple[str, float]] = []


def step(name: str) -> None:
    """Log the start of a phase (and record how long the previous one took)."""
    now = time.perf_counter()
    if _phase_started:
        prev, t0 = _phase_started.pop()
        PHASES[prev] = now - t0
    _phase_started.append((name, now))
    print(f"[{time.strftime('%H:%M:%S')}] {name}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.render and not args.render.is_file():  # generated, not committed: a full run writes it
        parser.error(f"{args.render}: no results file; a full run (make bench) writes bench/results.json")
    if args.render:
        write_report(json.loads(args.render.read_text()), args.render.with_name("RESULTS.md"))
        return 0
    plan = QUICK if args.quick else FULL
    if args.limit:
        plan = Plan(**(asdict(plan) | {"limit": args.limit}))
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _interrupt)
    results: dict = {}
    try:
        run(args, plan, results)
    except BaseException:
        partial = OUT_DIR / "results_partial.json"
        partial.write_text(json.dumps(strip_private(results), indent=1, ensure_ascii=False, default=str))
        step(f"failed; what was measured is in {partial}")
        raise
    results = strip_private(results)
    # A smoke run must not overwrite the real figures.
    where = OUT_DIR if args.quick else BENCH_DIR
    (where / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    write_report(results, where / "RESULTS.md")
    step(f"done in {results['meta']['wall_s']:.0f} s: {where / 'RESULTS.md'}, {where / 'results.json'}")
    return 0


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops the run like Ctrl-C: servers and Milvus are stopped on the way out."""
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
