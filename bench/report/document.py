"""RESULTS.md from the results of one run: the header, the targets, what bounds the misses,
then one section per measurement, in the order of the run."""

from __future__ import annotations

from pathlib import Path

from bench.report.analysis import analysis
from bench.report.format import cores
from bench.report.hostile import hostile_section
from bench.report.ingest import ingest_section
from bench.report.latency import latency_section
from bench.report.search import recall_section
from bench.report.service import cold_section, profile_section, soak_section
from bench.report.targets import targets_section
from bench.report.throughput import throughput_section

SECTIONS = (
    ingest_section,
    latency_section,
    throughput_section,
    recall_section,
    cold_section,
    soak_section,
    hostile_section,
    profile_section,
)
RERUN_AT = "53ffa89"
"""The last commit holding every finished study below (each report keeps its figures)."""
FINISHED = (
    ("the index study (bench/INDEX.md)", ".venv/bin/python -m bench.probes.index_study"),
    ("the encoder under session and export variants", ".venv/bin/python -m bench.probes.encoder_variants"),
    ("a clean clone's `make run` to its first answer", ".venv/bin/python -m bench.run_bench --first-answer"),
    (
        "latency apart: encode + search in one process without HTTP, and a bare Sanic app (the HTTP floor)",
        ".venv/bin/python -m bench.run_bench",
    ),
    ("the original design side by side", ".venv/bin/python -m bench.run_bench"),
    (
        "Milvus' floor: a trivial RPC, and a search through the forwarder and direct (nsenter)",
        ".venv/bin/python -m bench.run_bench",
    ),
    (
        "this server against commit 5b7f2f1's, interleaved (its `versus` phase)",
        ".venv/bin/python -m bench.run_bench",
    ),
)
"""Studies this bench ran once and no longer runs: what, and the command as it was."""


def write_report(r: dict, path: Path) -> None:
    lines = header(r) + targets_section(r) + analysis(r)
    for section in SECTIONS:
        lines += section(r)
    lines += finished_section()
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def header(r: dict) -> list[str]:
    m, p = r["meta"], r["plan"]
    standin = " (the offline stand-in ckiplab/albert-tiny-chinese: no clue/albert_chinese_tiny here)"
    return [
        "# Benchmark results",
        "",
        f"- Command: `{m['command']}`",
        f"- Date: {m['date']}; wall time of the run {m['wall_s'] / 60:.1f} min{_phases(m)}",
        f"- Code measured: commit {m.get('git', {}).get('commit', '?')}"
        + (f", with uncommitted changes in: {', '.join(changed)}" if (changed := _changed(m)) else ", clean"),
        f"- Machine: os.cpu_count() = {m['cpu_count']}, {m['platform']}, Python {m['python']}; load average "
        f"{m['loadavg_start'][0]:.2f} at start, {m['loadavg_end'][0]:.2f} at end "
        "(other work shares the machine)",
        f"- Vector store: {m['backend']} (bench/out, free port, started in {m['milvus_start_s']:.1f} s)",
        f"- Model fingerprint: `{m['model_fingerprint']}`" + (standin if r["encoder"]["is_standin"] else ""),
        f"- Encoder backend: `{m['encoder_backend']}`; index {r['settings']['index_type']} "
        f"M={r['settings']['hnsw_m']} efConstruction={r['settings']['hnsw_ef_construction']}, "
        f"search ef={r['settings']['search_ef']}, top_k={r['settings']['top_k']}",
        f"- Words ingested: {r['ingest']['rows']:,}; queries: {r['queries']['dictionary']} dictionary words "
        "+ "
        f"{r['queries']['ood']} out-of-dictionary phrases (seed {r['queries']['seed']}); c=16 runs "
        f"{p['tp_s']:.0f} s after {p['tp_warmup_s']:.0f} s warm-up",
        "",
        f"Timings are noisy ({cores(r)}, shared): compare figures of this run with each other, and read "
        f"p50 (median) first. The load client is a separate process on the same {cores(r)} "
        "(bench/probes/load_client.py, keep-alive HTTP/1.1 on asyncio), so it takes CPU from the server.",
        "",
    ]


def _phases(meta: dict) -> str:
    phases = meta.get("phases_s") or {}
    return " (" + ", ".join(f"{k} {v:.0f} s" for k, v in phases.items()) + ")" if phases else ""


def _changed(meta: dict) -> list[str]:
    """Changed files other than the benchmark's own."""
    lines = meta.get("git", {}).get("changed", [])
    return [f"`{x[3:]}`" for x in lines if not x[3:].startswith("bench/")]


def finished_section() -> list[str]:
    """Where the studies that left the bench can be rerun from, so that no report loses the way."""
    rows = [f"- {what}: `git checkout {RERUN_AT} && {cmd}`" for what, cmd in FINISHED]
    return ["## Finished studies, no longer run", "", *rows, ""]
