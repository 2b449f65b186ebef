"""The index probe's pure parts: its table of Milvus' CPU per query by queries per call (nq),
from a results dict, and its tie-aware recall against exact search (no Milvus)."""

from __future__ import annotations

import numpy as np

from bench.probes.search_probe import exact_kth_scores, tie_aware_recall
from bench.report.search import nq_sweep_table


def test_one_row_per_nq_one_column_per_ef():
    measured = ((256, 1, 3.16, 2.81), (512, 1, 4.15, 3.49), (256, 16, 1.16, 11.39), (512, 16, 1.98, 18.73))
    sweep = [
        {"value": ef, "nq": nq, "milvus_cpu_ms_per_query": cpu, "call_p50_ms": p50}
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


def test_the_search_key_names_the_columns():
    sweep = [{"value": 64, "nq": 1, "milvus_cpu_ms_per_query": 1.0, "call_p50_ms": 2.0}]
    assert "| nq | nprobe=64: Milvus CPU ms / query / call p50 ms |" in "\n".join(
        nq_sweep_table(sweep, "nprobe")
    )


def test_recall_counts_a_tied_id_as_correct_and_a_worse_one_as_not():
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], dtype=np.float32)
    query = np.array([[1.0, 0.0]], dtype=np.float32)
    kth = exact_kth_scores(vectors, query, 2)
    assert kth.tolist() == [1.0]  # rows 0 and 1 tie for the top 2
    row_of_id = {10 + r: r for r in range(len(vectors))}
    assert tie_aware_recall([[11, 10]], query, vectors, row_of_id, kth, 2) == 1.0
    assert tie_aware_recall([[10, 12]], query, vectors, row_of_id, kth, 2) == 0.5
