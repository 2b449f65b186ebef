"""The index study's configurations, and its report: the table of ``bench/INDEX.md`` (between
markers, so that the prose around it stays), medians over repeated runs, the recommendation."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path

RECALL_TARGET = 0.99
FLAT_SPEEDUP = 2.0
"""The final index must search at least this many times faster (p50) than FLAT."""
TABLE_START = "<!-- index-study-table:start -->"
TABLE_END = "<!-- index-study-table:end -->"


@dataclass(frozen=True)
class IndexConfig:
    """An index to build, and the search parameter values to measure it with."""

    index_type: str
    build: dict
    search_key: str = ""
    search_values: tuple = (None,)
    search_extra: dict = field(default_factory=dict)

    def label(self) -> str:
        params = " ".join(f"{k}={v}" for k, v in self.build.items())
        return f"{self.index_type} {params}".strip()


def _hnsw(m: int, efc: int) -> IndexConfig:
    return IndexConfig("HNSW", {"M": m, "efConstruction": efc}, "ef", (64, 128, 256, 512))


def _ivf(kind: str, nlist: int, **extra: int) -> IndexConfig:
    return IndexConfig(kind, {"nlist": nlist, **extra}, "nprobe", (8, 16, 32, 64, 128))


CONFIGS = {
    "flat": IndexConfig("FLAT", {}),
    "hnsw16_200": _hnsw(16, 200),
    "hnsw16_64": _hnsw(16, 64),
    "hnsw16_32": _hnsw(16, 32),
    "hnsw16_100": _hnsw(16, 100),
    "hnsw8_64": _hnsw(8, 64),
    "hnsw8_32": _hnsw(8, 32),
    "hnsw32_100": _hnsw(32, 100),
    "ivf_flat256": _ivf("IVF_FLAT", 256),
    "ivf_sq8_256": _ivf("IVF_SQ8", 256),
    "ivf_flat1024": _ivf("IVF_FLAT", 1024),
    "ivf_pq256": _ivf("IVF_PQ", 256, m=52, nbits=8),
    "scann1024": IndexConfig(
        "SCANN", {"nlist": 1024, "with_raw_data": True}, "nprobe", (16, 32, 64), {"reorder_k": 100}
    ),
}
DEFAULT_ORDER = (
    "flat",
    "hnsw16_200",
    "hnsw16_64",
    "hnsw8_64",
    "hnsw8_32",
    "hnsw32_100",
    "ivf_flat256",
    "ivf_sq8_256",
    "hnsw16_64",
    "hnsw16_200",
    "ivf_flat1024",
    "hnsw16_200",
    "hnsw16_64",
)
"""Every configuration once, then efConstruction 64 and 200 twice more, interleaved in
alternating order (the key comparison: three runs each, medians quoted)."""


def _median(values: list[float | None]) -> float | None:
    """The median of the values measured (None when none was: older runs lack a field)."""
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def summarize_runs(runs: list[dict]) -> list[dict]:
    """One row per configuration and search value: medians over its runs, in first-run order."""
    by_config: dict[str, list[dict]] = {}
    for run in runs:
        by_config.setdefault(run["config"], []).append(run)
    rows = []
    for name, group in by_config.items():
        build = {k: _median([r["build"][k] for r in group]) for k in ("wall_s", "cpu_s", "cores")}
        for value in group[0]["search"]:
            per = [r["search"][value] for r in group if value in r["search"]]
            row = {"config": name, "runs": len(group), "search_value": value, **build}
            for s in ("dict", "ood"):
                for k in ("p50_ms", "p95_ms", "recall", "milvus_cpu_ms"):
                    row[f"{s}_{k}"] = _median([p[s].get(k) for p in per])
            rows.append(row)
    return rows


def recommend(rows: list[dict], target: float = RECALL_TARGET) -> dict[str, dict | None]:
    """``final``: the lowest build CPU among indexes meeting ``target`` on both sets whose
    p50 on both is at most ``FLAT_SPEEDUP``-fold below FLAT's (an index slower than that
    buys too little over brute force, which needs no build), at its cheapest search value;
    ``first``: the lowest build CPU meeting ``target``, FLAT included: what could serve while
    the final index builds."""

    def ok(r: dict) -> bool:
        return r["dict_recall"] >= target and r["ood_recall"] >= target

    def best(candidates: list[dict]) -> dict | None:
        good = [r for r in candidates if ok(r)]
        return min(good, key=lambda r: (r["cpu_s"], r["dict_p50_ms"])) if good else None

    def is_flat(r: dict) -> bool:
        return CONFIGS.get(r["config"], IndexConfig("?", {})).index_type == "FLAT"

    flat = [r for r in rows if is_flat(r)]
    caps = {s: min(r[f"{s}_p50_ms"] for r in flat) / FLAT_SPEEDUP for s in ("dict", "ood")} if flat else {}

    def fast(r: dict) -> bool:
        return all(r[f"{s}_p50_ms"] <= cap for s, cap in caps.items())

    return {"final": best([r for r in rows if not is_flat(r) and fast(r)]), "first": best(rows)}


def _fmt(x: float | None, digits: int) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def render_table(rows: list[dict]) -> str:
    """The Markdown table of ``summarize_runs`` rows."""
    head = (
        "| configuration | runs | build wall s | build Milvus CPU s | cores used | search param "
        "| p50 ms dict / OOD | p95 ms dict / OOD | Milvus CPU ms/search dict / OOD | recall@3 dict / OOD |"
    )
    lines = [head, "|" + "---|" * 10]
    for r in rows:
        cfg = CONFIGS.get(r["config"])
        label = cfg.label() if cfg else r["config"]
        param = f"{cfg.search_key}={r['search_value']}" if cfg and cfg.search_key else "-"
        lines.append(
            f"| {label} | {r['runs']} | {_fmt(r['wall_s'], 1)} | {_fmt(r['cpu_s'], 1)} "
            f"| {_fmt(r['cores'], 2)} "
            f"| {param} | {_fmt(r['dict_p50_ms'], 2)} / {_fmt(r['ood_p50_ms'], 2)} "
            f"| {_fmt(r['dict_p95_ms'], 2)} / {_fmt(r['ood_p95_ms'], 2)} "
            f"| {_fmt(r['dict_milvus_cpu_ms'], 2)} / {_fmt(r['ood_milvus_cpu_ms'], 2)} "
            f"| {_fmt(r['dict_recall'], 4)} / {_fmt(r['ood_recall'], 4)} |"
        )
    return "\n".join(lines)


def _steps(steps: list[dict]) -> str:
    """Milvus' own read / build / save seconds of each index task ("none" for FLAT: no task)."""
    keys = ("data_ready_s", "built_s", "saved_s")
    return "; ".join(" / ".join(_fmt(t.get(k, 0.0), 1) for k in keys) for t in steps) or "no task"


def _build_threads(busy: list[dict]) -> str:
    """How many of knowhere's build threads worked (> 1 CPU s), and each one's CPU seconds."""
    build = [t["cpu_s"] for t in busy if t["name"].startswith("Knowhere_Build")]
    return f"{len(build)}: {', '.join(_fmt(c, 0) for c in build)}" if build else "0"


def render_builds(runs: list[dict]) -> str:
    """Every build in run order (the interleaved repeats show here one by one)."""
    lines = [
        "| # | configuration | load avg | build wall s | Milvus CPU s | cores | busiest second (cores) "
        "| Milvus steps: read / build / save s | build threads: n, CPU s each | load s |",
        "|" + "---|" * 10,
    ]
    for i, run in enumerate(runs, 1):
        b = run["build"]
        cfg = CONFIGS.get(run["config"])
        lines.append(
            f"| {i} | {cfg.label() if cfg else run['config']} | {_fmt(run.get('loadavg', 0.0), 2)} "
            f"| {_fmt(b['wall_s'], 1)} | {_fmt(b['cpu_s'], 1)} | {_fmt(b['cores'], 2)} "
            f"| {_fmt(b['peak_cores'], 2)} | {_steps(b.get('milvus_steps', []))} "
            f"| {_build_threads(b['busy_threads'])} "
            f"| {_fmt(run.get('load_s', 0.0), 1)} |"
        )
    return "\n".join(lines)


def render_section(results: dict) -> str:
    """The generated part of the report: tables and the recommendation's figures."""
    runs = results.get("runs", [])
    rows = summarize_runs(runs)
    rec = recommend(rows)
    meta = results.get("meta", {})
    parts = [
        TABLE_START,
        f"Rows: {meta.get('rows')} x {meta.get('dim')} dims; queries: {meta.get('queries')}; "
        f"idle Milvus: {_fmt(meta.get('idle_milvus_cores', 0.0), 3)} cores.",
        "",
        "Per configuration and search parameter (medians over its runs):",
        "",
        render_table(rows),
        "",
        "Every build, in run order:",
        "",
        render_builds(runs),
        "",
    ]
    whats = (
        ("final", f"final index (lowest build CPU s, p50 at least {FLAT_SPEEDUP:g}x below FLAT's)"),
        ("first", "first to serve while it builds (lowest build CPU s, FLAT allowed)"),
    )
    parts.append(f"Recommended by the rule (recall@3 >= {RECALL_TARGET} on both sets):")
    parts.append("")
    for key, what in whats:
        r = rec[key]
        if r is None:
            parts.append(f"- {what}: none reaches recall@3 >= {RECALL_TARGET} on both sets")
            continue
        cfg = CONFIGS[r["config"]]
        param = f"{cfg.search_key}={r['search_value']}" if cfg.search_key else "no search parameter"
        parts.append(
            f"- {what}: {cfg.label()} with {param}: build {_fmt(r['cpu_s'], 1)} Milvus CPU s "
            f"({_fmt(r['wall_s'], 1)} s wall), recall@3 {_fmt(r['dict_recall'], 4)} / "
            f"{_fmt(r['ood_recall'], 4)}, p50 {_fmt(r['dict_p50_ms'], 2)} / {_fmt(r['ood_p50_ms'], 2)} ms"
        )
    parts.append(TABLE_END)
    return "\n".join(parts)


def splice(document: str, section: str) -> str:
    """``document`` with the text between the markers replaced by ``section`` (appended if absent)."""
    start, end = document.find(TABLE_START), document.find(TABLE_END)
    if start < 0 or end < start:
        return document.rstrip("\n") + "\n\n" + section + "\n"
    return document[:start] + section + document[end + len(TABLE_END) :]


def write_index_report(results: dict, path: Path) -> None:
    """Write (or update in place) the generated section of the report at ``path``."""
    old = path.read_text(encoding="utf-8") if path.exists() else "# Index study\n"
    path.write_text(splice(old, render_section(results)), encoding="utf-8")
