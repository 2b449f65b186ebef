"""Milvus search alone, through ``probes/search_probe.py`` in a fresh process: latency per query
and tie-aware recall@k against exact search per ``ef``, and Milvus' own CPU per query by
queries per call."""

from __future__ import annotations

from bench.common import OUT_DIR, child_env, descendants, probe_cmd, run_logged
from bench.phases.queries import Queries

EFS = (16, 32, 64, 128, 256)
"""The brief's four, and 256 to find the smallest ef that meets the recall target."""


def search_phase(uri: str, milvus_root: int, settings, q: Queries) -> dict:
    """The index probe on the collection as the ingest built it, on the queries' server-made
    vectors and the collection's own (``encoder_alone`` saved both in ``OUT_DIR``)."""
    efs = sorted({*EFS, settings.search_ef})
    cmd = probe_cmd("search_probe", "--uri", uri, "--collection", settings.collection)
    cmd += ["--vectors-dir", str(OUT_DIR), "--n-dict", str(len(q.dictionary))]
    # The nq sweep at the configured ef and the largest other: what a change of ef would cost.
    sweep = sorted({EFS[-1], settings.search_ef})
    cmd += ["--values", ",".join(map(str, efs)), "--nq-values", ",".join(map(str, sweep))]
    milvus = [p.pid for p in descendants(milvus_root) if p.name() == "milvus"]
    cmd += ["--milvus-pid", str(milvus[0])] if milvus else []
    run = run_logged(cmd, child_env(), "search_probe.log")
    res = run.result()
    if res is None:
        raise RuntimeError(
            f"search probe failed with exit code {run.code}; see {OUT_DIR / 'search_probe.log'}"
        )
    return {"configured_ef": settings.search_ef, "by_ef": res["by_value"], "nq_sweep": res.get("nq_sweep")}
