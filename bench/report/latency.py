"""Section 2 of RESULTS.md: latency at concurrency 1, with the encoder alone and the search
alone beside it; Milvus' CPU per query by nq."""

from __future__ import annotations

from bench.report.format import LABEL, context, lat_row, pct_row, table
from bench.report.search import nq_sweep_table


def latency_section(r: dict) -> list[str]:
    s = r["search"]
    conf = s["by_ef"][str(s["configured_ef"])]
    enc = r["encoder"]["encode_one_ms"]
    rows = []
    for name, svc in r["services"].items():
        rows.append(lat_row(f"{LABEL[name]}: dictionary words", svc["latency_dict"]))
        rows.append(lat_row(f"{LABEL[name]}: OOD phrases", svc["latency_ood"]))
        if "latency_cached" in svc:
            rows.append(
                lat_row(f"{LABEL[name]}: cached repeat of the dictionary words", svc["latency_cached"])
            )
    rows.append(lat_row(f"Milvus search only (ef={s['configured_ef']}): dictionary words", conf["dict"]))
    rows.append(lat_row(f"Milvus search only (ef={s['configured_ef']}): OOD phrases", conf["ood"]))
    rows.append(pct_row("encoder alone, one query, 1 thread: dictionary words", enc["dict"]))
    rows.append(pct_row("encoder alone, one query, 1 thread: OOD phrases", enc["ood"]))
    out = ["## 2. Latency at concurrency 1 (ms, through real HTTP)", "", context(r), ""]
    out += table(["what", "n", "p50", "p90", "p99", "max"], rows)
    out += [
        "Search only: `MilvusClient.search` with the service's parameters (output field `text`) from a "
        "fresh process (bench/probes/search_probe.py), precomputed query vectors, one at a time. Encoder "
        "alone: `encode_one` with one inference thread, as the server runs it.",
        "",
    ]
    return out + nq_sweep_table(s.get("nq_sweep"))
