"""Section 1 of RESULTS.md: the ingest against the encoder alone, and whether the index serves."""

from __future__ import annotations

from bench.phases.ingest import LOAD_REFUSAL
from bench.report.format import context, table
from bench.report.targets import NOT_SERVED
from bench.units import MIB


def ingest_section(r: dict) -> list[str]:
    i, e = r["ingest"], r["encoder"]
    rows = [
        ["ingest process (insert_data_to_milvus.py --drop --no-progress)", f"{i['process_wall_s']:.1f} s"],
        *(
            [
                [
                    "... of which, after the last insert: compact, build the index once, load",
                    f"{i['compact_index_load_s']:.1f} s (index build {i['index_build_s']:.1f} s)",
                ]
            ]
            if i.get("compact_index_load_s") is not None
            else []
        ),
        ["... then until indexed (pending_index_rows 0) and loaded", f"+{i['index_wait_s']:.1f} s"],
        ["**total, until fully indexed and loaded**", f"**{i['total_s']:.1f} s**"],
        ["ingest's own encode time / rate", f"{i['encode_s']:.1f} s, {i['encode_words_per_s']:,} words/s"],
        [
            "ingest's insert time / rate (overlaps encoding)",
            f"{i['insert_s']:.1f} s, {i['insert_rows_per_s']:,} rows/s",
        ],
        [
            "CPU time: ingest process / Milvus, whole phase",
            f"{i['process_cpu_s']:.1f} s / {i['milvus_cpu_s']:.1f} s",
        ],
        ["ingest peak RSS (wait4 ru_maxrss)", f"{i['peak_rss_bytes'] / MIB:,.0f} MiB"],
        [
            "encoder alone: `encoder.encode(all words)`",
            f"{e['encode_s']:.1f} s, {e['words_per_s']:,.0f} words/s",
        ],
        ["encoder alone: CPU time of that call", f"{e['encode_cpu_s']:.1f} s"],
        ["encoder alone: model load (not in the figure above)", f"{e['load_s']:.2f} s"],
        [
            "other work on the machine meanwhile (cores): ingest phase / encoder phase",
            f"{i['other_load_cores']:.2f} / {e['other_load_cores']:.2f}",
        ],
        ["encoder-alone process peak RSS", f"{e['peak_rss_bytes'] / MIB:,.0f} MiB"],
        ["**total / encoder alone** (wall)", f"**{i['total_s'] / e['encode_s']:.2f}×**"],
        [
            "CPU instead of wall: (ingest + Milvus CPU) / encoder CPU",
            f"{(i['process_cpu_s'] + i['milvus_cpu_s']) / e['encode_cpu_s']:.2f}×",
        ],
    ]
    h = i["index_served"]
    served = (
        f"{h['rows_in_loaded_indexed_segments']:,} of {i['rows']:,} rows are served from loaded, indexed "
        f"sealed segments ({h['sealed_segments_loaded']} sealed segments loaded; Milvus logged "
        f'{h["load_refusals"]:,} refusals to load a segment, "{LOAD_REFUSAL}").'
    )
    out = ["## 1. Ingest", "", context(r), "", *table(["", ""], rows), "Index in use: " + served, ""]
    st = i.get("settle")
    if st:
        after = st["index_after"]
        out += [
            f"Then, outside the ingest figures, a check that nothing is left for Milvus to do in the "
            f"background: a manual compaction (`compact`, which Milvus would start on its own) took "
            f"{st['compacted_s']:.0f} s, and Milvus was busy {st['wait_s']:.0f} s "
            f"({st['milvus_cpu_s']:.0f} CPU s) "
            f"until idle ({'yes' if st['idle'] else 'NO: it still competes'}"
            f"); then {after['indexed_rows']:,} rows indexed, {after['pending_index_rows']:,} pending, "
            f"{st['served_after']['rows_in_loaded_indexed_segments']:,} served from indexed segments. "
            "The encoder-alone run came before the ingest, on an idle Milvus; every later phase starts "
            "after the compaction.",
            "",
        ]
    if not h["all_rows_served_by_index"]:
        out += [f"**The HNSW index is not used by searches.** {NOT_SERVED}", ""]
    return out
