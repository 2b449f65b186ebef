"""The ingest phase: the ingest CLI, then waiting until Milvus has indexed, loaded and
compacted the collection (and has gone idle), with how much CPU it took."""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path

from bench.common import OUT_DIR, PROJECT_DIR, PYTHON, OtherLoad, child_env, run_logged, tree_cpu_s

INGEST_SCRIPT = PROJECT_DIR / "insert_data_to_milvus.py"

INDEX_POLL_S = 0.5
INDEX_TIMEOUT_S = 900.0
SERVE_TIMEOUT_S = 300.0
SETTLE_TIMEOUT_S = 600.0
IDLE_WINDOW_S = 10.0
IDLE_CORES = 0.25
"""Milvus counts as idle below this many cores (set above what its idle housekeeping uses)."""
LOAD_REFUSAL = "get memory failed when checkSegmentSize"
"""Milvus' log line when its query node cannot read its own memory use and so refuses a segment."""
_OK_LINE = re.compile(r"collection (\S+)(?: \(\S+\))?: (\d+) rows, source: (\d+) words -> (\w+)")
_WROTE_LINE = re.compile(
    r"wrote (\d+) words in ([\d.]+) s: encode ([\d.]+) s \((\d+) words/s\), "
    r"insert ([\d.]+) s \((\d+) rows/s\)"
)
_BUILT_LINE = re.compile(r"index of \S+ built in ([\d.]+) s")
_FINISH_LINE = re.compile(r"compacted, indexed and loaded in ([\d.]+) s")


def ingest(uri: str, limit: int | None, collection: str, milvus_log: Path, milvus_root: int) -> dict:
    """Run the ingest CLI, then wait until the collection is fully indexed and loaded:
    no rows pending for the index, load state Loaded, and the query node serving every
    row from indexed sealed segments (unless Milvus' log shows it cannot load them)."""
    from pymilvus import MilvusClient

    cmd = [PYTHON, str(INGEST_SCRIPT), "--drop", "--no-progress"]
    cmd += ["--limit", str(limit)] if limit else []
    t0, other = time.perf_counter(), OtherLoad(milvus_root)
    milvus_cpu0 = tree_cpu_s(milvus_root)
    log = OUT_DIR / "ingest.log"
    run = run_logged(cmd, child_env(WORDSIM_MILVUS_URI=uri), log.name)
    if run.code != 0:
        raise RuntimeError(f"ingest failed with exit code {run.code}; see {log}")
    ok = _OK_LINE.search(run.output)
    wrote = _WROTE_LINE.search(run.output)
    if not ok or not wrote or ok.group(4) != "OK":
        raise RuntimeError(f"ingest output not understood; see {log}")
    rows = int(ok.group(2))
    client = MilvusClient(uri=uri)
    try:
        index = _wait_indexed(client, collection, rows, t0)
        indexed_s = time.perf_counter() - t0
        while "Loaded" not in str(client.get_load_state(collection).get("state")):
            time.sleep(INDEX_POLL_S)
        health = _wait_index_served(uri, collection, rows, milvus_log)
        total_s = time.perf_counter() - t0
        settle = settle_compaction(client, uri, collection, rows, milvus_log, milvus_root)
    finally:
        client.close()
    return {
        "settle": settle,
        "other_load_cores": other.cores(run.cpu_s),
        "milvus_cpu_s": tree_cpu_s(milvus_root) - milvus_cpu0,
        "index_served": health,
        "rows": rows,
        "process_wall_s": run.wall_s,
        "process_cpu_s": run.cpu_s,
        "indexed_s": indexed_s,
        "total_s": total_s,
        "index_wait_s": total_s - run.wall_s,
        "encode_s": float(wrote.group(3)),
        "encode_words_per_s": int(wrote.group(4)),
        "insert_s": float(wrote.group(5)),
        "insert_rows_per_s": int(wrote.group(6)),
        "write_wall_s": float(wrote.group(2)),
        "index_build_s": _seconds(_BUILT_LINE, run.output),
        "compact_index_load_s": _seconds(_FINISH_LINE, run.output),
        "peak_rss_bytes": run.peak_rss_bytes,
        "index": {k: index.get(k) for k in ("index_type", "M", "efConstruction", "metric_type")},
    }


def _seconds(pattern: re.Pattern, text: str) -> float | None:
    found = pattern.search(text)
    return float(found.group(1)) if found else None


def index_served(uri: str, collection: str, milvus_log: Path) -> dict:
    """How many rows the query node serves from loaded sealed segments with the index, and
    how often Milvus refused to load a segment for want of memory figures."""
    from pymilvus import connections, utility

    alias = "bench-index-health"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the ORM API is deprecated, and the only one with this call
        connections.connect(alias=alias, uri=uri)
        try:
            segments = utility.get_query_segment_info(collection, using=alias)
        finally:
            connections.disconnect(alias)
    text = milvus_log.read_text(errors="replace") if milvus_log.is_file() else ""
    return {
        "sealed_segments_loaded": len(segments),
        "rows_in_loaded_indexed_segments": sum(s.num_rows for s in segments if s.index_name),
        "load_refusals": text.count(LOAD_REFUSAL),
    }


def _wait_index_served(uri: str, collection: str, rows: int, milvus_log: Path) -> dict:
    """Wait until every row is served from an indexed sealed segment; give up at once
    when Milvus logs that it refuses to load segments (it will not recover)."""
    t0 = time.perf_counter()
    while True:
        health = index_served(uri, collection, milvus_log)
        health["wait_s"] = time.perf_counter() - t0
        served = health["rows_in_loaded_indexed_segments"] >= rows
        if served or health["load_refusals"] or health["wait_s"] > SERVE_TIMEOUT_S:
            return health | {"all_rows_served_by_index": served}
        time.sleep(INDEX_POLL_S)


def settle_compaction(
    client, uri: str, collection: str, rows: int, milvus_log: Path, milvus_root: int
) -> dict:
    """Compact now (``compact``) and wait until every segment is indexed and served and Milvus
    is idle, so that no background merge and index rebuild, which Milvus would otherwise
    start on its own, lands in the middle of the measurements. The ingest already compacts
    before it builds the index, so this normally finds nothing to do."""
    t0, cpu0 = time.perf_counter(), tree_cpu_s(milvus_root)
    job = client.compact(collection)
    state = ""
    while "complete" not in state and time.perf_counter() - t0 < SETTLE_TIMEOUT_S:
        time.sleep(INDEX_POLL_S)
        state = str(client.get_compaction_state(job)).lower()
    compacted_s = time.perf_counter() - t0
    index = _wait_indexed(client, collection, rows, t0)
    served = _wait_index_served(uri, collection, rows, milvus_log)
    idle = wait_milvus_idle(milvus_root, SETTLE_TIMEOUT_S - (time.perf_counter() - t0))
    return {
        "compaction_state": state,
        "compacted_s": compacted_s,
        "wait_s": time.perf_counter() - t0,
        "milvus_cpu_s": tree_cpu_s(milvus_root) - cpu0,
        "idle": idle,
        "index_after": {k: v for k, v in index.items() if "rows" in k},
        "served_after": served,
    }


def wait_milvus_idle(milvus_root: int, timeout_s: float) -> bool:
    """Whether Milvus' processes dropped under ``IDLE_CORES`` over ``IDLE_WINDOW_S`` in time."""
    deadline = time.perf_counter() + max(timeout_s, IDLE_WINDOW_S)
    while time.perf_counter() < deadline:
        before = tree_cpu_s(milvus_root)
        time.sleep(IDLE_WINDOW_S)
        if (tree_cpu_s(milvus_root) - before) / IDLE_WINDOW_S < IDLE_CORES:
            return True
    return False


def _wait_indexed(client, collection: str, rows: int, t0: float) -> dict:
    """Poll ``describe_index`` until no rows wait for the index and all are indexed."""
    while True:
        info = client.describe_index(collection, "vector")
        if info["pending_index_rows"] == 0 and info["indexed_rows"] >= rows:
            return info
        if time.perf_counter() - t0 > INDEX_TIMEOUT_S:
            raise RuntimeError(f"index not built within {INDEX_TIMEOUT_S:.0f} s: {info}")
        time.sleep(INDEX_POLL_S)
