"""The benchmark's table of Milvus' CPU per query by queries per call (nq), from a results
dict (no Milvus)."""

from __future__ import annotations

from bench.report.search import nq_sweep_table


def test_one_row_per_nq_one_column_per_ef():
    measured = ((256, 1, 3.16, 2.81), (512, 1, 4.15, 3.49), (256, 16, 1.16, 11.39), (512, 16, 1.98, 18.73))
    sweep = [
        {"ef": ef, "nq": nq, "milvus_cpu_ms_per_query": cpu, "call_p50_ms": p50}
        for ef, nq, cpu, p50 in measured
    ]
    text = "\n".join(nq_sweep_table(sweep))
    assert (
        "| nq | ef=256: Milvus CPU ms / query / call p50 ms | ef=512: Milvus CPU ms / query / call p50 ms |"
        in text
    )
    assert "| 1 | 3.16 / 2.81 | 4.15 / 3.49 |" in text and "| 16 | 1.16 / 11.39 | 1.98 / 18.73 |" in text
    assert text.index("| 1 |") < text.index("| 16 |")


def test_no_sweep_no_table():
    assert nq_sweep_table(None) == [] and nq_sweep_table([]) == []
