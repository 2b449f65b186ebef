"""The servers a phase measures (ours, another commit's), and the load client run against
them."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from bench.common import (
    BENCH_DIR,
    OUT_DIR,
    PROJECT_DIR,
    PYTHON,
    Service,
    child_env,
    free_port,
    probe_cmd,
    run_logged,
    summarize,
)
from bench.phases.plan import EXECUTOR_THREADS
from bench.probes.protocol import HOST, write_texts

SERVER_SCRIPT = PROJECT_DIR / "sanic_milvus.py"


def _server_env(uri: str, port: int, workers: int, extra: dict[str, str]) -> dict[str, str]:
    """The server's environment; ``extra`` wins. Only the default collection: the bench
    loads no other (WORDSIM_COLLECTIONS names more by default)."""
    own = {
        "WORDSIM_MILVUS_URI": uri,
        "WORDSIM_HOST": HOST,
        "WORDSIM_PORT": str(port),
        "WORDSIM_WORKERS": str(workers),
        "WORDSIM_EXECUTOR_THREADS": str(EXECUTOR_THREADS),
        "WORDSIM_COLLECTIONS": "",
    }
    return child_env(**(own | extra))


def our_service(name: str, uri: str, workers: int, **extra: str) -> Service:
    """``sanic_milvus.py`` on a free port with ``workers`` workers, on Milvus at ``uri``."""
    port = free_port()
    return Service(name, [PYTHON, str(SERVER_SCRIPT)], _server_env(uri, port, workers, extra), port)


def commit_tree(commit: str) -> Path:
    """The files of ``commit`` under bench/out, by ``git archive`` (no checkout, no branch
    or worktree touched); extracted once."""
    dest = OUT_DIR / f"tree-{commit}"
    if not (dest / SERVER_SCRIPT.name).is_file():
        dest.mkdir(parents=True, exist_ok=True)
        tar = subprocess.run(["git", "archive", commit], cwd=PROJECT_DIR, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(dest)], input=tar.stdout, check=True)
    return dest


def checkout_service(name: str, uri: str, workers: int, tree: Path, **extra: str) -> Service:
    """``sanic_milvus.py`` of another checkout (``tree``), run from there: Python puts the
    script's folder first on ``sys.path``, so it imports that checkout's ``wordsim``, not the
    editable install's. Same model as ours, its own ONNX export (made at its first start: an
    export this code makes differently must not be read by the old code, nor the reverse)."""
    from wordsim.settings import load_settings

    port = free_port()
    own = {"WORDSIM_MODEL_DIR": load_settings().model_dir, "WORDSIM_ONNX_CACHE_DIR": str(tree) + "-onnx"}
    extra = own | extra
    env = _server_env(uri, port, workers, extra)
    return Service(name, [PYTHON, str(tree / SERVER_SCRIPT.name)], env, port, cwd=tree)


def load(
    service: Service,
    queries: list[str],
    tag: str,
    *,
    concurrency: int = 1,
    duration: float | None = None,
    warmup: float = 0.0,
) -> dict:
    """Run the load client (a separate process) against ``service``; summary + raw file."""
    qfile = write_texts(OUT_DIR / f"queries_{tag}.json", queries)
    rfile = OUT_DIR / f"load_{tag}.json"
    cmd = probe_cmd("load_client", "--port", str(service.port), "--queries", str(qfile))
    cmd += ["--concurrency", str(concurrency), "--warmup", str(warmup), "--out", str(rfile)]
    cmd += ["--duration", str(duration)] if duration else []
    run = run_logged(cmd, child_env(), f"load_{tag}.log")
    if run.code != 0:
        raise RuntimeError(f"load client failed ({run.code}): {run.output[-2000:]}")
    raw = json.loads(rfile.read_text())
    keep = ("concurrency", "duration_s", "requests", "errors", "error_samples", "distinct_queries", "wrapped")
    out = {k: raw[k] for k in (*keep, "statuses")}
    out["rps"] = raw["rps"]
    out["client_cpu_s"] = run.cpu_s
    out["latency_ms"] = summarize(raw["latencies_ms"])
    out["raw"] = str(rfile.relative_to(BENCH_DIR))
    out["_latencies_ms"] = raw["latencies_ms"]  # dropped before results.json is written
    out["_done_at_s"] = raw["done_at_s"]
    return out
