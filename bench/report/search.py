"""RESULTS.md on Milvus search alone: its own floor (a table of section 2) and section 4,
recall of the HNSW index against exact search per ef."""

from __future__ import annotations

from bench.report.format import context, ms, table

PROBE_CALLS = (
    ("has_collection_ms", "has_collection (trivial RPC)"),
    ("search_ms", "search, output `text`"),
    ("search_no_output_fields_ms", "search, no output fields"),
    ("search_batch16_ms", "one search call with 16 queries (nq=16), output `text`"),
)
PROBE_PATHS = (("forwarded", "through the LocalMilvus forwarder"), ("direct", "direct, inside the namespace"))


def probe_table(r: dict) -> list[str]:
    """Milvus' own floor: a trivial RPC and the search, through the forwarder and direct."""
    probes = r["search"].get("probes") or {}
    rows: list[list[object]] = []
    for where, label in PROBE_PATHS:
        p = probes.get(where)
        if not p:
            rows.append([label, "not measured", "", "", ""])
            continue
        for key, what in PROBE_CALLS:
            v = p.get(key)
            if v is None:
                continue
            rows.append([f"{what}, {label}", v["n"], ms(v["p50"]), ms(v["p99"]), ms(v["client_cpu_ms"])])
    out = [
        "Milvus' own floor (bench/probes/search_probe.py, a fresh process, same query vectors; "
        "*direct* enters Milvus' network namespace with nsenter, bypassing the forwarder):",
        "",
    ]
    out += table(["call", "n", "p50 ms", "p99 ms", "client CPU ms per call"], rows)
    return out + nq_sweep_table((probes.get("forwarded") or {}).get("nq_sweep"))


def nq_sweep_table(sweep: list[dict] | None) -> list[str]:
    """Milvus' CPU per query by queries per call: why the service batches its searches."""
    if not sweep:
        return []
    efs = sorted({row["ef"] for row in sweep})
    by = {(row["ef"], row["nq"]): row for row in sweep}
    rows = [
        [nq]
        + [f"{by[ef, nq]['milvus_cpu_ms_per_query']:.2f} / {ms(by[ef, nq]['call_p50_ms'])}" for ef in efs]
        for nq in sorted({row["nq"] for row in sweep})
    ]
    out = [
        "Milvus' CPU per query when one call carries nq queries (the same probe, through the forwarder; "
        "CPU of the milvus process over the calls / queries, and the p50 of one call; medians of "
        "interleaved rounds):",
        "",
    ]
    return out + table(["nq", *(f"ef={ef}: Milvus CPU ms / query / call p50 ms" for ef in efs)], rows)


def recall_section(r: dict) -> list[str]:
    s = r["search"]
    rows = []
    for ef, per in s["by_ef"].items():
        mark = " (configured)" if int(ef) == s["configured_ef"] else ""
        rows.append(
            [
                f"{ef}{mark}",
                f"{per['dict']['recall']:.4f}",
                f"{per['ood']['recall']:.4f}",
                ms(per["dict"]["latency_ms"]["p50"]),
                ms(per["ood"]["latency_ms"]["p50"]),
            ]
        )
    out = ["## 4. Recall@3 of HNSW vs exact search (tie-aware)", "", context(r), ""]
    out += table(
        ["ef", "recall@3 dictionary", "recall@3 OOD", "search p50 ms dict", "search p50 ms OOD"], rows
    )
    out += [
        "Exact: numpy inner products over the vectors of the encoder-alone run. A returned id counts "
        "as correct when its exact score ≥ the exact 3rd-best score − 1e-6 (6,196 dictionary words "
        "share 229 identical vectors, so the top 3 is often not unique).",
        "",
    ]
    return out
