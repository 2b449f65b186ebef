"""RESULTS.md on Milvus search alone: its CPU per query by queries per call (a table of
section 2) and section 4, recall of the HNSW index against exact search per ef."""

from __future__ import annotations

from bench.report.format import context, ms, table


def nq_sweep_table(sweep: list[dict] | None, key: str = "ef") -> list[str]:
    """Milvus' CPU per query by queries per call (``key``: the search parameter swept): why
    the service batches its searches."""
    if not sweep:
        return []
    values = sorted({row["value"] for row in sweep})
    by = {(row["value"], row["nq"]): row for row in sweep}
    rows = [
        [nq]
        + [f"{by[v, nq]['milvus_cpu_ms_per_query']:.2f} / {ms(by[v, nq]['call_p50_ms'])}" for v in values]
        for nq in sorted({row["nq"] for row in sweep})
    ]
    out = [
        "Milvus' CPU per query when one call carries nq queries (bench/probes/search_probe.py, a fresh "
        "process, through the LocalMilvus forwarder; CPU of the milvus process over the calls / queries, "
        "and the p50 of one call; medians of interleaved rounds):",
        "",
    ]
    return out + table(["nq", *(f"{key}={v}: Milvus CPU ms / query / call p50 ms" for v in values)], rows)


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
