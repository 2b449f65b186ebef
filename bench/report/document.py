"""RESULTS.md from the results of one run: targets first, then one section per measurement."""

from __future__ import annotations

from pathlib import Path

from ingest_phase import LOAD_REFUSAL
from report_extra import probe_table
from report_util import LABEL, MIB, context, ms, table
from targets import NOT_SERVED, evaluate


def pct_row(name: str, p: dict) -> list[object]:
    """A table row of a percentile summary (``summarize``); max blank where not recorded."""
    return [name, p["n"], ms(p["p50"]), ms(p["p90"]), ms(p["p99"]), ms(p["max"]) if "max" in p else ""]


def lat_row(name: str, s: dict) -> list[object]:
    return pct_row(name, s["latency_ms"])


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
        "Timings are noisy (2 shared cores): compare figures of this run with each other, and read "
        "p50 (median) first. The load client is a separate process on the same 2 cores "
        "(bench/load_client.py, keep-alive HTTP/1.1 on asyncio), so it takes CPU from the server.",
        "",
    ]


def _phases(meta: dict) -> str:
    phases = meta.get("phases_s") or {}
    return " (" + ", ".join(f"{k} {v:.0f} s" for k, v in phases.items()) + ")" if phases else ""


def _changed(meta: dict) -> list[str]:
    """Changed files other than the benchmark's own."""
    lines = meta.get("git", {}).get("changed", [])
    return [f"`{x[3:]}`" for x in lines if not x[3:].startswith("bench/")]


def targets_section(r: dict) -> list[str]:
    rows = [
        [t["target"], t["measured"], "—" if t["verdict"] == "info" else f"{t['ratio']:.2f}", t["verdict"]]
        for t in evaluate(r)
    ]
    return ["## Targets", "", context(r), "", *table(["target", "measured", "measured/limit", ""], rows)]


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


def latency_section(r: dict) -> list[str]:
    s = r["search"]
    conf = s["by_ef"][str(s["configured_ef"])]
    enc = r["encoder"]["encode_one_ms"]
    rows = []
    for name, svc in r["services"].items():
        if "latency_dict" not in svc:
            continue  # a throughput-only variant
        rows.append(lat_row(f"{LABEL[name]}: dictionary words", svc["latency_dict"]))
        rows.append(lat_row(f"{LABEL[name]}: OOD phrases", svc["latency_ood"]))
        if "latency_cached" in svc:
            rows.append(
                lat_row(f"{LABEL[name]}: cached repeat of the dictionary words", svc["latency_cached"])
            )
    if "http_floor" in r:
        rows.append(
            lat_row(
                "HTTP floor: bare Sanic, fixed answer (bench/noop_app.py): dictionary words", r["http_floor"]
            )
        )
    inproc = r.get("inproc")
    if inproc:
        for key, what in (
            ("total_ms", "encode + search"),
            ("encode_ms", "its encode"),
            ("search_ms", "its search"),
        ):
            rows.append(
                pct_row(
                    f"in one process, no HTTP (bench/inproc_probe.py), dictionary words: {what}", inproc[key]
                )
            )
    rows.append(lat_row(f"Milvus search only (ef={s['configured_ef']}): dictionary words", conf["dict"]))
    rows.append(lat_row(f"Milvus search only (ef={s['configured_ef']}): OOD phrases", conf["ood"]))
    rows.append(pct_row("encoder alone, one query, 1 thread: dictionary words", enc["dict"]))
    rows.append(pct_row("encoder alone, one query, 1 thread: OOD phrases", enc["ood"]))
    out = ["## 2. Latency at concurrency 1 (ms, through real HTTP)", "", context(r), ""]
    out += table(["what", "n", "p50", "p90", "p99", "max"], rows)
    out += [
        "Search only: `WordStore.search` (the service's own call: same params, output field `text`) "
        "from the bench process, precomputed query vectors, one at a time. Encoder alone: "
        "`encode_one` with one inference thread, as the server runs it. Both are loops of one kind of call; "
        "in one process, no HTTP: each query encoded and then searched, as the server does at c=1.",
        "",
    ]
    return out + probe_table(r)


def throughput_section(r: dict) -> list[str]:
    rows, cpu_rows = [], []
    for name, svc in r["services"].items():
        t = svc["throughput"]
        lat = t["latency_ms"]
        rows.append(
            [
                LABEL[name],
                f"{t['rps']:.0f}",
                ms(lat["p50"]),
                ms(lat["p99"]),
                t["requests"],
                t["errors"],
                "yes" if t["wrapped"] else "no",
            ]
        )
        c = t["cpu_cores"]
        cpu_rows.append([LABEL[name], *(f"{c.get(k, 0):.2f}" for k in CPU_KEYS)])
    out = [
        f"## 3. Throughput at concurrency {r['services']['ours_w1t2']['throughput']['concurrency']}",
        "",
        context(r),
        "",
    ]
    out += table(["service", "req/s", "p50 ms", "p99 ms", "requests", "errors", "queries repeated"], rows)
    out += [
        "Cores used during the c=16 run (psutil CPU time / wall time, warm-up included; 2 cores exist):",
        "",
    ]
    out += table(["service", *CPU_KEYS], cpu_rows)
    w1, w2 = (r["services"][n] for n in ("ours_w1t2", "ours_w2t2"))
    best = "WORKERS=2" if w2["throughput"]["rps"] > w1["throughput"]["rps"] else "WORKERS=1"
    out += [
        f"On this machine, this run: WORKERS=1 {w1['throughput']['rps']:.0f} req/s, c=1 p50 "
        f"{ms(w1['latency_dict']['latency_ms']['p50'])} ms; WORKERS=2 {w2['throughput']['rps']:.0f} req/s, "
        f"c=1 p50 {ms(w2['latency_dict']['latency_ms']['p50'])} ms; more throughput with {best}. Both "
        "share the same 2 cores with Milvus, so a second worker adds parallel encoder and pymilvus work "
        "but no core. With WORKERS=2 each worker keeps its own answer cache (no cached repeat row).",
        "",
    ]
    return out


CPU_KEYS = ("server", "milvus", "forwarder", "load client", "other work on the machine")


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


def cold_section(r: dict) -> list[str]:
    c = r["cold_start"]
    runs = ", ".join(f"{x:.2f}" for x in c["runs_s"])
    return [
        "## 5. Cold start to ready",
        "",
        context(r),
        "",
        "Spawn of `sanic_milvus.py` (WORKERS=1) to the first 200 of `/health`: "
        f"median **{c['median_s']:.2f} s** "
        f"(runs: {runs} s; files in the page cache, ONNX export cached).",
        "",
    ]


def original_section(r: dict) -> list[str]:
    svcs = r["services"]
    w = svcs["ours_w1t2"]
    out = [
        "## 6. The original design, side by side",
        "",
        context(r),
        "",
        "`bench/baseline_original.py`: BertTokenizer + AlbertModel (torch eager) and the design "
        "document's pooling on the request path, inside the async handler, then one pymilvus "
        "`Collection.search` (ef as ours), top 3, same JSON. Same Milvus, same collection, same "
        "queries, same client. Run as designed (torch's default threads) and tuned (1 torch thread, "
        "which avoids OpenMP threads waiting for each other on a shared 2-core machine). Full "
        "figures in sections 2 and 3.",
        "",
    ]
    rows = []
    for name in ("original", "original_t1"):
        o = svcs[name]
        rows.append(
            [
                LABEL[name],
                f"{o['throughput']['rps']:.0f}",
                f"{w['throughput']['rps'] / o['throughput']['rps']:.2f}×",
                ms(o["latency_dict"]["latency_ms"]["p50"]) if "latency_dict" in o else "not measured",
                f"{o['latency_dict']['latency_ms']['p50'] / w['latency_dict']['latency_ms']['p50']:.2f}×"
                if "latency_dict" in o
                else "",
            ]
        )
    out += table(
        ["baseline", "c=16 req/s", "ours (default) / it", "c=1 p50 ms dict", "it / ours (default)"], rows
    )
    return out


def write_report(r: dict, path: Path) -> None:
    from report_extra import profile_section, soak_section
    from targets import analysis

    lines = header(r) + targets_section(r) + analysis(r)
    for section in (
        ingest_section,
        latency_section,
        throughput_section,
        recall_section,
        cold_section,
        original_section,
        soak_section,
        profile_section,
    ):
        lines += section(r)
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
