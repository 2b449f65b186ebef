"""The index study's report logic: medians over repeated runs, the recommendation, and the
table spliced into a document between its markers (fast, no Milvus)."""

from __future__ import annotations

from bench.report.index_study import (
    TABLE_END,
    TABLE_START,
    recommend,
    render_section,
    splice,
    summarize_runs,
)


def run(config: str, cpu: float, recall: dict[str, tuple[float, float]], p50: float = 1.0) -> dict:
    """One study run: a build costing ``cpu`` CPU s, and per search value (dict, OOD) recall."""
    point = {"p50_ms": p50, "p95_ms": 2 * p50}
    return {
        "config": config,
        "loadavg": 1.0,
        "build": {
            "wall_s": cpu / 2,
            "cpu_s": cpu,
            "cores": 2.0,
            "peak_cores": 2.0,
            "busy_threads": [],
            "segments": [10],
        },
        "search": {
            v: {"dict": point | {"recall": d}, "ood": point | {"recall": o}} for v, (d, o) in recall.items()
        },
    }


def test_repeated_runs_are_summarized_by_their_median():
    runs = [run("hnsw16_64", c, {"64": (0.99, 0.99)}) for c in (100.0, 300.0, 110.0)]
    (row,) = summarize_runs(runs)
    assert (row["runs"], row["cpu_s"], row["wall_s"]) == (3, 110.0, 55.0)


def test_the_final_index_is_the_cheapest_build_meeting_the_target_on_both_sets_well_faster_than_flat():
    runs = [
        run("flat", 0.5, {"None": (1.0, 1.0)}, p50=30.0),
        run("hnsw16_200", 400.0, {"64": (0.995, 0.999)}),
        run("hnsw8_32", 100.0, {"64": (0.98, 0.999), "256": (0.999, 0.989)}),  # never both
        run("hnsw16_64", 200.0, {"64": (0.985, 0.99), "128": (0.992, 0.995)}),
        run("ivf_flat256", 20.0, {"128": (0.999, 1.0)}, p50=20.0),  # barely faster than FLAT
    ]
    rec = recommend(summarize_runs(runs))
    assert (rec["final"]["config"], rec["final"]["search_value"]) == ("hnsw16_64", "128")
    assert rec["first"]["config"] == "flat"


def test_no_recommendation_when_nothing_meets_the_target():
    rec = recommend(summarize_runs([run("hnsw8_32", 100.0, {"64": (0.9, 0.9)})]))
    assert rec == {"final": None, "first": None}
    assert "none reaches recall@3" in render_section({"runs": [run("hnsw8_32", 100.0, {"64": (0.9, 0.9)})]})


def test_the_table_replaces_only_the_text_between_its_markers():
    doc = f"# Title\n\nprose before\n\n{TABLE_START}\nold table\n{TABLE_END}\n\nprose after\n"
    section = render_section({"runs": [run("hnsw16_64", 200.0, {"64": (0.99, 0.99)})]})
    new = splice(doc, section)
    assert "old table" not in new
    assert new.startswith("# Title\n\nprose before\n\n") and new.endswith("\n\nprose after\n")
    assert "| HNSW M=16 efConstruction=64 | 1 | 100.0 | 200.0 | 2.00 | ef=64 |" in new
    assert splice(new, section) == new  # idempotent
    assert splice("# Title\n", section) == f"# Title\n\n{section}\n"  # appended when absent
