"""Index study: build cost, search latency and tie-aware recall@3 of the index types Milvus
2.3.5 offers, on the whole dictionary, in a private local Milvus (issue 13, "Index").

    .venv/bin/python -m bench.probes.index_study                        # every configuration
    .venv/bin/python -m bench.probes.index_study --configs hnsw16_200,hnsw16_64 --append

The dictionary's vectors and the queries' (the bench's fixed-seed sets, encoded one at a time
as the server does) come from ``probes/encode_only.py``, cached in ``bench/out/index_study/``.
The rows are inserted once (id + vector), flushed and compacted; then per configuration:
release, drop the index, create it, poll ``describe_index`` until every row is indexed (wall
seconds, and CPU seconds of the Milvus process tree and of each Milvus thread, by psutil),
load, search each query set one query per call (c=1) per search parameter, release.
Writes ``bench/out/index_study.json`` after every configuration and the table of
``bench/INDEX.md``. ``--configs`` may name one several times: the runs are interleaved.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import psutil

from bench.common import OUT_DIR, PROJECT_DIR, child_env, probe_cmd, run_logged, summarize, tree_cpu_s
from bench.phases.search import exact_kth_scores, tie_aware_recall
from bench.probes.milvus_cpu import CpuSampler, build_steps, idle_cores, milvus_process, thread_cpu
from bench.probes.protocol import TOP_K, parser
from bench.report.index_study import CONFIGS, DEFAULT_ORDER, write_index_report
from bench.units import MS_PER_S

STUDY_DIR = OUT_DIR / "index_study"
RESULTS = OUT_DIR / "index_study.json"
REPORT = PROJECT_DIR / "bench" / "INDEX.md"
COLLECTION = "index_study"
INSERT_BATCH = 5000
POLL_S = 0.2
WARMUP = 30
BUSY_THREAD_S = 1.0
"""A Milvus thread that spent more CPU than this during a build counts as a build thread."""
TIMEOUT_S = 1800.0
SMOKE_QUERIES = 100
"""Queries per set in a smoke run (``--limit``)."""


def ensure_vectors() -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Vectors, ids, query vectors and the number of dictionary queries (encoded once)."""
    from bench.phases.plan import FULL
    from bench.phases.queries import pick_queries
    from bench.probes.protocol import write_texts
    from bench.run_bench import SEED
    from wordsim.ingest.wordlist import jieba_dict_path, read_words
    from wordsim.settings import load_settings

    STUDY_DIR.mkdir(parents=True, exist_ok=True)
    names = ("vectors.npy", "ids.npy", "query_vectors.npy")
    if not all((STUDY_DIR / n).exists() for n in names):
        every = [w.text for w in read_words(jieba_dict_path()).words]
        q = pick_queries(every, set(every), FULL.n_dict, FULL.n_ood, SEED, load_settings().max_text_chars)
        qfile = write_texts(STUDY_DIR / "queries.json", q.dictionary + q.ood)
        cmd = probe_cmd("encode_only", "--queries", str(qfile), "--out-dir", str(STUDY_DIR))
        run = run_logged(cmd, child_env(), "index_study/encode_only.log")
        if run.code != 0:
            raise RuntimeError(f"encoding failed; see {STUDY_DIR / 'encode_only.log'}")
    return (*(np.load(STUDY_DIR / n) for n in names), FULL.n_dict)


def fill(client, vectors: np.ndarray, ids: np.ndarray) -> dict:
    """Create the collection and insert, flush and compact it, unless it is already full."""
    from pymilvus import DataType, MilvusClient

    from wordsim.settings import load_settings
    from wordsim.store.bulk_load import WordLoader

    out: dict = {}
    if client.has_collection(COLLECTION):
        rows = int(client.get_collection_stats(COLLECTION).get("row_count", 0))
        if rows == len(ids):
            return {"reused": True}
        client.drop_collection(COLLECTION)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=vectors.shape[1])
    client.create_collection(COLLECTION, schema=schema, consistency_level="Bounded")
    t0 = time.perf_counter()
    for start in range(0, len(ids), INSERT_BATCH):
        end = start + INSERT_BATCH
        batch = zip(ids[start:end].tolist(), vectors[start:end].tolist(), strict=True)
        rows = [{"id": i, "vector": v} for i, v in batch]
        client.insert(COLLECTION, rows)
    out["insert_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    client.flush(COLLECTION)
    out["flush_s"] = time.perf_counter() - t0
    out["segments_before_compaction"] = segments(client)
    t0 = time.perf_counter()
    WordLoader(client, load_settings(), name=COLLECTION).compact(timeout_s=TIMEOUT_S)
    out["compact_s"] = time.perf_counter() - t0
    return out


def segments(client) -> list[int]:
    """Rows of each flushed segment."""
    return sorted((s.num_rows for s in client.list_persistent_segments(COLLECTION)), reverse=True)


def build(client, name: str, root: int, milvus: psutil.Process, rows: int, log: Path) -> dict:
    """Drop the index, create ``name``'s, and wait until every row is indexed; its cost."""
    cfg = CONFIGS[name]
    client.release_collection(COLLECTION)
    for index in client.list_indexes(COLLECTION):
        client.drop_index(COLLECTION, index)
    params = client.prepare_index_params()
    params.add_index(field_name="vector", index_type=cfg.index_type, metric_type="IP", params=cfg.build)
    log_at = log.stat().st_size if log.exists() else 0
    threads0, sampler = thread_cpu(milvus), CpuSampler(root)
    cpu0, t0 = tree_cpu_s(root), time.perf_counter()
    sampler.start()
    client.create_index(COLLECTION, params, sync=False)
    while True:
        info = client.describe_index(COLLECTION, "vector")
        if str(info.get("state")) == "Failed":
            sampler.stop()
            raise RuntimeError(f"{name}: {info.get('index_state_fail_reason')}")
        if str(info.get("state")) == "Finished" and int(info.get("indexed_rows", 0)) >= rows:
            break
        if time.perf_counter() - t0 > TIMEOUT_S:
            sampler.stop()
            raise RuntimeError(f"{name}: not built within {TIMEOUT_S:.0f} s ({info})")
        time.sleep(POLL_S)
    wall, cpu = time.perf_counter() - t0, tree_cpu_s(root) - cpu0
    peak = sampler.stop()
    busy = []
    for tid, (tname, after) in thread_cpu(milvus).items():
        spent = after - threads0.get(tid, (tname, 0.0))[1]
        if spent > BUSY_THREAD_S:
            busy.append({"tid": tid, "name": tname, "cpu_s": round(spent, 2)})
    busy.sort(key=lambda t: -t["cpu_s"])
    excerpt = b""
    if log.exists():  # Milvus' own account of the build, kept for the report
        with log.open("rb") as f:
            f.seek(log_at)
            excerpt = f.read()
        (STUDY_DIR / f"milvus_log_{name}_{int(time.time())}.log").write_bytes(excerpt)
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "cores": cpu / wall,
        "peak_cores": peak,
        "busy_threads": busy,
        "segments": segments(client),
        "milvus_steps": build_steps(excerpt.decode(errors="replace")),
    }


def timed_search(client, queries: np.ndarray, params: dict) -> tuple[list[float], list[list[int]]]:
    """Latency (ms) and ids of one search per query, one at a time (c=1)."""
    sp = {"metric_type": "IP", "params": params}

    def one(q: np.ndarray) -> list[int]:
        res = client.search(COLLECTION, data=[q.tolist()], limit=TOP_K, search_params=sp, anns_field="vector")
        return [int(h["id"]) for h in res[0]]

    for q in queries[:WARMUP]:
        one(q)
    lat, ids = [], []
    for q in queries:
        t0 = time.perf_counter()
        ids.append(one(q))
        lat.append((time.perf_counter() - t0) * MS_PER_S)
    return lat, ids


def measure(client, name: str, root: int, sets: dict, vectors, row_of_id, kth) -> dict:
    """Load the collection, search every set per search parameter, release. Besides the
    latency, Milvus' CPU per search (its tree's CPU over the loop, warm-up included): what
    caps throughput, and steadier than latency on a shared machine."""
    cfg = CONFIGS[name]
    t0 = time.perf_counter()
    client.load_collection(COLLECTION, timeout=TIMEOUT_S)
    out: dict = {"load_s": time.perf_counter() - t0, "search": {}}
    for value in cfg.search_values:
        params = {cfg.search_key: value} if cfg.search_key else {}
        params |= cfg.search_extra
        per: dict = {}
        for set_name, q in sets.items():
            cpu0 = tree_cpu_s(root)
            lat, got = timed_search(client, q, params)
            cpu_ms = (tree_cpu_s(root) - cpu0) * MS_PER_S / (len(q) + min(WARMUP, len(q)))
            s = summarize(lat)
            per[set_name] = {
                "p50_ms": s["p50"],
                "p95_ms": float(np.percentile(lat, 95)),
                "recall": tie_aware_recall(got, q, vectors, row_of_id, kth[set_name], TOP_K),
                "milvus_cpu_ms": cpu_ms,
            }
        out["search"][str(value)] = per
        print(f"  {name} {cfg.search_key}={value}: {json.dumps(per)}", flush=True)
    client.release_collection(COLLECTION)
    return out


def outputs(limit: int | None) -> tuple[Path, Path]:
    """The results file and the report; a smoke run (``limit``) keeps both under ``OUT_DIR``."""
    if limit is None:
        return RESULTS, REPORT
    return STUDY_DIR / f"smoke_{limit}.json", STUDY_DIR / "smoke.md"


def main(argv: list[str] | None = None) -> int:
    from wordsim.local_milvus.launcher import LocalMilvus
    from wordsim.settings import load_settings
    from wordsim.store.connection import connect

    p = parser(__doc__)
    p.add_argument("--configs", default=",".join(DEFAULT_ORDER), help=f"of {', '.join(CONFIGS)}")
    p.add_argument("--append", action="store_true", help="add to the runs in index_study.json")
    p.add_argument("--limit", type=int, help="only the first N words (a smoke run)")
    args = p.parse_args(argv)
    order = args.configs.split(",")
    unknown = [n for n in order if n not in CONFIGS]
    if unknown:
        p.error(f"unknown configurations: {unknown}")
    vectors, ids, qv, n_dict = ensure_vectors()
    vectors, ids = vectors[: args.limit], ids[: args.limit]
    sets = {"dict": qv[:n_dict], "ood": qv[n_dict:]}
    if args.limit:
        sets = {k: v[:SMOKE_QUERIES] for k, v in sets.items()}
    row_of_id = {int(i): r for r, i in enumerate(ids)}
    kth = {k: exact_kth_scores(vectors, q, TOP_K) for k, q in sets.items()}
    out, report = outputs(args.limit)
    results = json.loads(out.read_text()) if args.append and out.exists() else {"runs": []}
    results.setdefault("meta", {}).update(
        command=".venv/bin/python -m bench.probes.index_study",
        rows=len(ids),
        dim=int(vectors.shape[1]),
        queries={k: len(v) for k, v in sets.items()},
        cpu_count=os.cpu_count(),
    )
    settings = load_settings()
    data_dir = STUDY_DIR / ("milvus" if args.limit is None else "milvus_smoke")
    lm = LocalMilvus(settings, port=0, data_dir=data_dir)
    try:
        lm.start()
        root = int(lm.pid_file.read_text().split()[0])
        milvus = milvus_process(root)
        client = connect(settings.replace(milvus_uri=lm.uri, milvus_timeout_s=TIMEOUT_S))
        results["meta"].setdefault("fills", []).append(fill(client, vectors, ids))
        results["meta"]["idle_milvus_cores"] = idle_cores(root)
        log = lm.data_dir / "logs" / "milvus-stdout.log"
        for name in order:
            load = os.getloadavg()[0]
            print(f"{name}: building (load average {load:.2f})", flush=True)
            run = {"config": name, "loadavg": load, "build": build(client, name, root, milvus, len(ids), log)}
            b = run["build"]
            print(f"  built: {b['wall_s']:.1f} s, {b['cpu_s']:.1f} CPU s, {b['cores']:.2f} cores", flush=True)
            run |= measure(client, name, root, sets, vectors, row_of_id, kth)
            results["runs"].append(run)
            out.write_text(json.dumps(results, indent=1, ensure_ascii=False))
            write_index_report(results, report)
        client.close()
    finally:
        lm.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
