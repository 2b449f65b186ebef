"""Optional py-spy sampling of a server under load, summarised for RESULTS.md, and its
flame graphs.

py-spy is a developer tool, not a project requirement: when it is not installed
(``.venv/bin/pip install py-spy``) the profile is skipped. Next to the stacks, the CPU
time of every thread (psutil) is read before and after, so each thread group's cores
are measured, not inferred from samples.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections import Counter, defaultdict
from pathlib import Path

import psutil

from bench.common import BENCH_DIR, OUT_DIR, PROJECT_DIR, PYTHON, Service, descendants
from bench.phases.plan import CONCURRENCY, DEFAULT, OURS, SERVER_READY_S, Plan
from bench.phases.servers import load, our_service

SAMPLE_RATE_HZ = 200
TOP_FRAMES = 5
_LINE = re.compile(r'^(?:process \d+:"[^"]*";)?thread \((\d+)\)(?:: ([^;]*))?;?(.*) (\d+)$')
CATEGORIES = {
    "ONNX Runtime inference (Session.run)": "Session.run (onnxruntime",
    "tokenizer": "tokenize (wordsim/model/onnx_backend.py",
    "pymilvus search (request building, gRPC call, result parsing)": "WordStore.search",
    "gRPC blocking call (waiting for Milvus)": "_blocking (grpc/_channel.py",
    "micro-batcher (batcher.py, if present)": "(wordsim/service/batcher.py",
    "Sanic HTTP handling": "sanic/http/",
    "access log": "log_access (wordsim/service/middleware.py",
    "answer JSON (format_hits + dumps)": "format_hits (",
}
"""Label -> substring of a stack: the share of active samples whose stack holds it. py-spy names
a frame ``function (file:line)``, the file relative to the folder above its top package
(``wordsim/model/onnx_backend.py``, ``sanic/http/...``), or its bare name outside a package."""


def py_spy() -> str | None:
    """Path of the py-spy executable, if installed."""
    beside = Path(PYTHON).with_name("py-spy")
    return str(beside) if beside.is_file() else shutil.which("py-spy")


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds so far of every thread of a process and its descendants."""
    out: dict[int, float] = {}
    for proc in descendants(pid):
        try:
            for t in proc.threads():
                out[t.id] = t.user_time + t.system_time
        except psutil.Error:
            continue
    return out


def start_record(pid: int, seconds: float, out: Path, fmt: str = "raw") -> subprocess.Popen | None:
    """Start py-spy on ``pid`` and its subprocesses for ``seconds`` (``fmt``: raw stacks or
    ``flamegraph``, into ``out``); None when py-spy is absent."""
    exe = py_spy()
    if exe is None:
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [exe, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", str(SAMPLE_RATE_HZ)]
    cmd += ["--format", fmt, "--output", str(out), "--threads", "--nonblocking", "--subprocesses"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def flame_graph(svc: Service, queries: list[str], out: Path, concurrency: int, seconds: float) -> Path | None:
    """py-spy's flame graph (SVG) of ``svc`` while the load client runs at ``concurrency``
    for ``seconds`` (None when py-spy is absent). Recorded without ``--idle``, so py-spy
    is asked to leave out waiting threads; where it cannot tell (seen here: a pool thread
    waiting for work in ``_worker``, a search waiting for Milvus in gRPC's ``_blocking``)
    waits still show, so the per-thread CPU (psutil, :func:`profile`) is the measure of CPU."""
    spy = start_record(svc.proc.pid, seconds, out, "flamegraph")
    if spy is None:
        return None
    load(svc, queries, f"{svc.name}_flame_c{concurrency}", concurrency=concurrency, duration=seconds)
    spy.wait()
    if not out.is_file():
        return None
    # The graph names the server's command line: paths relative to the project, not this machine's.
    out.write_text(out.read_text().replace(str(PROJECT_DIR) + "/", ""))
    return out


def flame_graphs(svc: Service, queries: list[str], prefix: str, seconds: float, where: Path) -> dict:
    """SVG flame graphs of ``svc`` at c=1 and c=16 in ``where``, if py-spy is here; paths relative
    to the folder above, where the run's report is."""
    out = {}
    for conc in (1, CONCURRENCY):
        path = flame_graph(svc, queries, where / f"{prefix}_c{conc}.svg", conc, seconds)
        if path is not None:
            out[f"c{conc}"] = str(path.relative_to(where.parent))
    return out


def default_profiles(uri: str, queries: list[str], warm: list[str], plan: Plan, where: Path) -> dict:
    """The default configuration under py-spy at c=1 and c=16 (``profile``), then its flame
    graphs into ``where``; on a server of its own with the answer cache off, so that
    every request encodes and searches whatever repeats."""
    with our_service(f"{DEFAULT}_profiled", uri, OURS[DEFAULT], WORDSIM_ANSWER_CACHE_SIZE="0") as svc:
        svc.wait_ready(SERVER_READY_S)
        load(svc, warm, f"{DEFAULT}_profiled_warm")
        out: dict = {f"c{c}": profile(svc, queries, plan, c) for c in (1, CONCURRENCY)}
        return out | {"flame_graphs": flame_graphs(svc, queries, "ours", plan.profile_s, where)}


def thread_group(name: str) -> str:
    """Numbered pool threads counted together (``wordsim_0`` -> ``wordsim_*``)."""
    return re.sub(r"_\d+$", "_*", name)


def _frame(frame: str) -> str:
    return re.sub(r":\d+\)$", ")", frame)


def summarize_raw(
    path: Path, wall_s: float, cpu_before: dict[int, float], cpu_after: dict[int, float]
) -> dict:
    """Cores per thread group (measured), its top frames, and the share of each category."""
    names: dict[int, str] = {}
    group_frames: dict[str, Counter[str]] = defaultdict(Counter)
    cats: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        m = _LINE.match(line.strip())
        if not m:
            continue
        tid, stack, count = int(m.group(1)), m.group(3), int(m.group(4))
        group = thread_group(m.group(2) or "?")
        names[tid] = group
        total += count
        group_frames[group][_frame(stack.rsplit(";", 1)[-1]) if stack else group] += count
        for label, needle in CATEGORIES.items():
            if needle in stack:
                cats[label] += count
    cores: Counter[str] = Counter()
    for tid, cpu in cpu_after.items():
        cores[names.get(tid, "threads never sampled (native)")] += (cpu - cpu_before.get(tid, 0.0)) / wall_s
    groups = {}
    for g, c in cores.most_common():
        n = sum(group_frames[g].values())
        top = [(f, k / n) for f, k in group_frames[g].most_common(TOP_FRAMES)] if n else []
        groups[g] = {"cores": c, "samples": n, "top_frames": top}
    return {
        "samples": total,
        "seconds": wall_s,
        "rate_hz": SAMPLE_RATE_HZ,
        "groups": groups,
        "categories": {k: v / total for k, v in cats.most_common()} if total else {},
    }


def profile(svc: Service, queries: list[str], plan: Plan, concurrency: int) -> dict | None:
    """py-spy on the server while load at ``concurrency`` runs (None when py-spy is absent).
    Samples are of active threads only (no ``--idle``); the thread CPU comes from psutil."""
    raw = OUT_DIR / f"profile_{svc.name}_c{concurrency}.txt"
    before, t0 = thread_cpu(svc.proc.pid), time.perf_counter()
    spy = start_record(svc.proc.pid, plan.profile_s, raw)
    if spy is None:
        return None
    res = load(
        svc, queries, f"{svc.name}_profiled_c{concurrency}", concurrency=concurrency, duration=plan.profile_s
    )
    spy.wait()
    after, wall = thread_cpu(svc.proc.pid), time.perf_counter() - t0
    extra = {"raw": str(raw.relative_to(BENCH_DIR)), "rps": res["rps"], "concurrency": concurrency}
    return summarize_raw(raw, wall, before, after) | extra
