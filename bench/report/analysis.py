"""What the run's own figures say bounds each missed target (the analysis under the targets)."""

from __future__ import annotations

from bench.phases.plan import CONCURRENCY, DEFAULT, OURS
from bench.report.format import SHORT, cores
from bench.report.targets import (
    E2E_OVER_SEARCH_MAX,
    E2E_P50_MAX_MS,
    NOT_SERVED,
    P99_C16_MAX_MS,
    RECALL_MIN,
    SETS,
    evaluate,
)
from bench.units import MS_PER_S


def _latency_breakdown(r: dict, name: str) -> list[str]:
    search = r["search"]["by_ef"][str(r["search"]["configured_ef"])]
    enc = r["encoder"]["encode_one_ms"]
    out = []
    for key, lat_key, label in SETS:
        e2e = r["services"][name][lat_key]["latency_ms"]["p50"]
        e50, s50 = enc[key]["p50"], search[key]["latency_ms"]["p50"]
        rest = e2e - e50 - s50
        out.append(
            f"- {SHORT[name]}, {label}: e2e p50 {e2e:.2f} ms ≈ encoder alone {e50:.2f} ms "
            f"({e50 / e2e:.0%}) + "
            f"Milvus search alone {s50:.2f} ms ({s50 / e2e:.0%}) + the rest {rest:.2f} ms ({rest / e2e:.0%}: "
            f"HTTP, the service's path, and the encoder and Milvus slowing each other down). "
            f"{E2E_OVER_SEARCH_MAX}× the search allows only "
            f"{(E2E_OVER_SEARCH_MAX - 1) * s50:.2f} ms for encoder + rest, and the encoder alone takes "
            f"{e50:.2f} ms; {E2E_P50_MAX_MS:g} ms is below the search alone."
        )
    cpu = r["services"][name]["latency_dict"].get("cpu_ms_per_request")
    if cpu:
        out.append(
            f"  At c=1 each dictionary request cost the server {cpu['server']:.2f} ms of CPU (the encoder "
            f"alone is {enc['dict']['p50']:.2f} ms of it; the rest is Sanic, the request's Python path and "
            f"the pymilvus client) and Milvus {cpu['milvus']:.2f} ms."
        )
    return out


def _throughput_breakdown(r: dict, name: str) -> list[str]:
    t = r["services"][name]["throughput"]
    c = t["cpu_cores"]
    parties = ", ".join(f"{k} {v:.2f}" for k, v in c.items())
    own = c["server"] + c["milvus"] + c["forwarder"]

    def per(cores: float) -> str:
        return f"{cores / t['rps'] * MS_PER_S:.1f}"

    per_req_ms = own / t["rps"] * MS_PER_S
    ceiling = r["meta"]["cpu_count"] / (own / t["rps"])
    out = [
        f"- {SHORT[name]} at c={CONCURRENCY}: {t['rps']:.0f} req/s using {sum(c.values()):.2f} of "
        f"{cores(r)} ({parties}). Per request: server {per(c['server'])} ms CPU, "
        f"Milvus {per(c['milvus'])} ms, forwarder {per(c['forwarder'])} ms "
        f"= {per_req_ms:.1f} ms, so even with all {cores(r)} to itself it could not exceed "
        f"~{ceiling:.0f} req/s."
    ]
    prof = (r.get("profiles") or {}).get(f"c{CONCURRENCY}")
    if name == DEFAULT and prof and prof["categories"]:
        top = ", ".join(f"{k} {v:.0%}" for k, v in list(prof["categories"].items())[:5])
        out.append(f"  py-spy of the server (share of active samples): {top}.")
    return out


def _littles_law(r: dict) -> str:
    need = CONCURRENCY / (P99_C16_MAX_MS / MS_PER_S)
    ef = r["search"]["configured_ef"]
    by_nq = {row["nq"]: row for row in r["search"].get("nq_sweep") or [] if row["value"] == ef}
    batch = ""
    if 1 in by_nq and CONCURRENCY in by_nq:
        one, many = (by_nq[n]["milvus_cpu_ms_per_query"] for n in (1, CONCURRENCY))
        batch = (
            f" Milvus' CPU per query at ef={ef}: {one:.2f} ms searched one per call, {many:.2f} ms "
            f"{CONCURRENCY} per call (the nq table of section 2)."
        )
    return (
        f"- p99 ≤ {P99_C16_MAX_MS:g} ms at c={CONCURRENCY}: a closed loop of {CONCURRENCY} connections has "
        f"mean latency = {CONCURRENCY} / throughput (Little's law), so it needs ≥ {need:.0f} req/s, i.e. ≤ "
        f"{r['meta']['cpu_count'] / need * MS_PER_S:.1f} ms of CPU per request on {cores(r)} for "
        "server + Milvus together; the per-request CPU measured above is far higher." + batch
    )


def analysis(r: dict) -> list[str]:
    """What bounds each miss, from this run's own figures."""
    rows = evaluate(r)
    misses = [t["target"] for t in rows if t["verdict"] == "MISS"]
    if not misses:
        return ["All targets met.", ""]
    out = ["### What bounds the misses (figures of this run)", ""]
    if any("e2e p50" in m for m in misses):
        for name in OURS:
            out += _latency_breakdown(r, name)
    if any("p99" in m for m in misses):
        for name in r["services"]:
            out += _throughput_breakdown(r, name)
        out.append(_littles_law(r))
    if any("ingest total" in m for m in misses):
        i, e = r["ingest"], r["encoder"]
        out.append(
            f"- Ingest: process {i['process_wall_s']:.1f} s (its encode loop {i['encode_s']:.1f} s, inserts "
            f"{i['insert_s']:.1f} s overlapping it, {i['process_cpu_s']:.1f} s CPU"
            + (
                f"; then compaction, one index build ({i['index_build_s']:.1f} s) and load: "
                f"{i['compact_index_load_s']:.1f} s"
                if i.get("compact_index_load_s") is not None
                else ""
            )
            + f") + {i['index_wait_s']:.1f} s waiting for the index after it exits; the encoder alone took "
            f"{e['encode_s']:.1f} s. The ingest's encode loop is {i['encode_s'] / e['encode_s']:.2f}× the "
            "encoder alone."
        )
        floor_s = (i["process_cpu_s"] + i["milvus_cpu_s"]) / r["meta"]["cpu_count"]
        out.append(
            f"  CPU bound: the ingest process used {i['process_cpu_s']:.0f} CPU s and Milvus "
            f"{i['milvus_cpu_s']:.0f} CPU s (inserts, HNSW build with efConstruction="
            f"{r['settings']['hnsw_ef_construction']}) in that phase; on {cores(r)} that is at least "
            f"{floor_s:.0f} s of wall time even with perfect overlap, {floor_s / e['encode_s']:.2f}× the "
            f"encoder alone ({e['encode_cpu_s']:.0f} CPU s). Other work on the machine took "
            f"{i['other_load_cores']:.2f} cores during the ingest and {e['other_load_cores']:.2f} during "
            "the encoder run."
        )
    if not r["ingest"]["index_served"]["all_rows_served_by_index"]:
        out.append("- Index not in use (recall, search latency): " + NOT_SERVED)
    if any("recall" in m for m in misses):
        s = r["search"]["by_ef"]
        ok = [ef for ef, v in s.items() if min(v["dict"]["recall"], v["ood"]["recall"]) >= RECALL_MIN]
        out.append(
            f"- Recall: the smallest ef of the sweep reaching {RECALL_MIN} on both sets: "
            f"{min(ok, key=int) if ok else 'none'}."
        )
    return [*out, ""]
