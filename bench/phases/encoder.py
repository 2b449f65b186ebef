"""The encoder alone, on the ingest's words and the queries, run as a probe subprocess."""

from __future__ import annotations

from pathlib import Path

from bench.common import OUT_DIR, OtherLoad, child_env, probe_cmd, run_logged


def encoder_alone(limit: int | None, query_file: Path, milvus_root: int) -> dict:
    """``probes/encode_only.py`` on the same words as the ingest; saves the vectors in ``OUT_DIR``."""
    other = OtherLoad(milvus_root)
    cmd = probe_cmd("encode_only", "--queries", str(query_file), "--out-dir", str(OUT_DIR))
    cmd += ["--limit", str(limit)] if limit else []
    log = "encode_only.log"
    run = run_logged(cmd, child_env(), log)
    result = run.result()
    if result is None:
        raise RuntimeError(f"encoder run failed with exit code {run.code}; see {OUT_DIR / log}")
    result.update(process_wall_s=run.wall_s, peak_rss_bytes=run.peak_rss_bytes, process_cpu_s=run.cpu_s)
    result["other_load_cores"] = other.cores(run.cpu_s)
    return result
