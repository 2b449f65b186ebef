"""The benchmark's RESULTS.md rendered from a made-up results dict of the shape run_bench
records (no Milvus, no servers): every section renders, the core count comes from the run's
metadata, and the finished studies keep the commit to rerun them from."""

from __future__ import annotations

from bench.phases.plan import OURS
from bench.report.document import RERUN_AT, write_report


def pct(p50: float) -> dict:
    return {
        "n": 100,
        "mean": p50,
        "p50": p50,
        "p90": p50 * 1.2,
        "p99": p50 * 2,
        "p999": p50 * 3,
        "max": p50 * 4,
    }


def load(p50: float, **extra) -> dict:
    run = {
        "concurrency": 1,
        "duration_s": 1.0,
        "requests": 100,
        "errors": 0,
        "error_samples": [],
        "rps": 200.0,
    }
    return run | {"wrapped": False, "latency_ms": pct(p50)} | extra


def profile(concurrency: int) -> dict:
    group = {"cores": 0.4, "samples": 90, "top_frames": [["Session.run (onnxruntime)", 0.5]]}
    return {
        "samples": 100,
        "seconds": 8.0,
        "rate_hz": 200,
        "groups": {"wordsim_*": group},
        "categories": {"ONNX Runtime inference (Session.run)": 0.5},
        "raw": "out/p.txt",
        "rps": 150.0,
        "concurrency": concurrency,
    }


def results(cpu_count: int) -> dict:
    cores = {
        "server": 0.6,
        "milvus": 1.1,
        "forwarder": 0.01,
        "load client": 0.04,
        "other work on the machine": 0.0,
    }
    service = {
        "latency_dict": load(5.7, cpu_ms_per_request={"server": 2.7, "milvus": 4.5, "forwarder": 0.1}),
        "latency_ood": load(6.2),
        "latency_cached": load(0.2),
        "throughput": load(36.0, concurrency=16, rps=440.0, cpu_cores=cores),
    }
    served = {"sealed_segments_loaded": 1, "rows_in_loaded_indexed_segments": 1000, "load_refusals": 0}
    per_ef = {
        "dict": {"latency_ms": pct(3.5), "recall": 0.996},
        "ood": {"latency_ms": pct(3.7), "recall": 0.995},
    }
    return {
        "meta": {
            "command": "make bench",
            "date": "today",
            "wall_s": 1400.0,
            "git": {"commit": "abc1234"},
            "cpu_count": cpu_count,
            "platform": "Linux",
            "python": "3.11",
            "loadavg_start": [1.0],
            "loadavg_end": [2.0],
            "backend": "local Milvus 2.3.5 server",
            "milvus_start_s": 6.0,
            "model_fingerprint": "fp",
            "encoder_backend": "onnx",
            "phases_s": {"ingest": 240.0},
        },
        "plan": {"tp_s": 30.0, "tp_warmup_s": 3.0},
        "settings": {
            "index_type": "HNSW",
            "hnsw_m": 16,
            "hnsw_ef_construction": 64,
            "search_ef": 512,
            "top_k": 3,
        },
        "queries": {"dictionary": 1000, "ood": 200, "seed": 1},
        "encoder": {
            "encode_s": 80.0,
            "encode_cpu_s": 145.0,
            "words_per_s": 4300.0,
            "load_s": 0.5,
            "other_load_cores": 0.0,
            "peak_rss_bytes": 5e8,
            "is_standin": True,
            "encode_one_ms": {"dict": pct(1.1), "ood": pct(1.4)},
        },
        "ingest": {
            "rows": 1000,
            "process_wall_s": 170.0,
            "process_cpu_s": 170.0,
            "milvus_cpu_s": 186.0,
            "total_s": 173.0,
            "index_wait_s": 3.0,
            "encode_s": 100.0,
            "encode_words_per_s": 3400,
            "insert_s": 20.0,
            "insert_rows_per_s": 17000,
            "peak_rss_bytes": 5.5e8,
            "index_build_s": 40.0,
            "compact_index_load_s": 60.0,
            "other_load_cores": 0.0,
            "index_served": served | {"all_rows_served_by_index": True},
        },
        "search": {
            "configured_ef": 512,
            "by_ef": {"256": per_ef, "512": per_ef},
            "nq_sweep": [
                {"value": 512, "nq": n, "milvus_cpu_ms_per_query": 4.0 / n, "call_p50_ms": 3.0 * n}
                for n in (1, 16)
            ],
        },
        "cold_start": {"runs_s": [1.1, 1.2], "median_s": 1.15},
        "services": dict.fromkeys(OURS, service),
        "profiles": {"c1": profile(1), "c16": profile(16), "flame_graphs": {"c1": "profiles/ours_c1.svg"}},
        "soak": load(
            37.0,
            concurrency=16,
            duration_s=60.0,
            rps_per_second={"min": 390, "median": 428, "max": 470},
            rss_mib={"server": {"after_warmup": 265.0, "end": 270.0, "change": 0.019}},
        ),
    }


def test_every_section_renders_with_the_run_s_core_count(tmp_path):
    path = tmp_path / "RESULTS.md"
    write_report(results(cpu_count=8), path)
    text = path.read_text()
    for heading in (
        "## Targets",
        "## 1. Ingest",
        "## 2. Latency",
        "## 3. Throughput",
        "## 4. Recall",
        "## 6. Soak",
    ):
        assert heading in text
    assert "on the same 8 cores" in text and "8 cores exist" in text and "2 cores" not in text
    assert "| 16 | 0.25 / 48.00 |" in text  # the nq sweep at the configured ef
    assert "[c=1](profiles/ours_c1.svg)" in text
    assert f"`git checkout {RERUN_AT} && .venv/bin/python -m bench.probes.index_study`" in text
