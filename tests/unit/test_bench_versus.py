"""The benchmark's comparison with the baseline commit: its targets and its section of
RESULTS.md, from a results dict (no servers)."""

from __future__ import annotations

from bench.report.versus import versus_section, versus_targets


def _results(ours_cpu: float, ours_rps: float) -> dict:
    run = {"cpu_ms_per_request": ours_cpu, "p50_ms": 7.0, "c16_rps": ours_rps, "errors": 0}
    base = {"cpu_ms_per_request": 8.0, "p50_ms": 8.0, "c16_rps": 200.0, "errors": 0}
    medians = {k: {x: v[x] for x in ("cpu_ms_per_request", "p50_ms", "c16_rps")} for k, v in
               {"baseline": base, "ours": run}.items()}  # fmt: skip
    return {
        "meta": {
            "backend": "local Milvus",
            "model_fingerprint": "fp",
            "encoder_backend": "onnx",
            "cpu_count": 2,
        },
        "versus": {
            "commit": "5b7f2f1",
            "rounds": {"baseline": [base, base], "ours": [run, run]},
            "medians": medians,
            "cpu_ratio": ours_cpu / 8.0,
            "c16_ratio": ours_rps / 200.0,
            "flame_graphs": {"ours": {"c1": "profiles/ours_c1.svg", "c16": "profiles/ours_c16.svg"}},
        },
    }


def test_targets_pass_and_miss_on_the_limits():
    passed = versus_targets(_results(3.0, 300.0))
    assert [t["verdict"] for t in passed] == ["PASS", "PASS"]
    missed = versus_targets(_results(3.01, 299.0))
    assert [t["verdict"] for t in missed] == ["MISS", "MISS"]
    assert "299 / 200 req/s = 1.50×" in missed[1]["measured"]


def test_no_comparison_no_targets_and_no_section():
    assert versus_targets({}) == []
    assert versus_section({}) == []


def test_section_lists_every_round_the_medians_and_the_flame_graphs():
    text = "\n".join(versus_section(_results(4.0, 250.0)))
    assert "commit 5b7f2f1" in text
    assert text.count("| baseline |") == 2 and text.count("| ours |") == 2
    assert "**ours, median** |  | 4.00 | 7.00 | 250 |" in text
    assert "CPU per request 0.50×, c=16 throughput 1.25×" in text
    assert "[ours c=1](profiles/ours_c1.svg), [ours c=16](profiles/ours_c16.svg)" in text


def test_a_baseline_that_could_not_be_extracted_is_reported_not_judged():
    r = {"versus": {"commit": "5b7f2f1", "error": "git archive failed"}}
    assert versus_targets(r) == []
    assert "Not measured: git archive failed" in "\n".join(versus_section(r))


def test_the_baseline_at_our_ef_is_information_beside_the_judged_ratio():
    r = _results(4.0, 300.0)
    same = {"cpu_ms_per_request": 8.0, "p50_ms": 8.5, "c16_rps": 250.0, "errors": 0}
    r["versus"]["rounds"]["baseline_same_ef"] = [same]
    r["versus"]["medians"]["baseline_same_ef"] = {
        k: same[k] for k in ("cpu_ms_per_request", "p50_ms", "c16_rps")
    }
    r["versus"].update(search_ef=512, c16_ratio_same_ef=300.0 / 250.0)
    targets = versus_targets(r)
    assert [t["verdict"] for t in targets] == ["MISS", "PASS", "info"]
    assert "ef=512 too" in targets[2]["target"] and "300 / 250 req/s = 1.20×" in targets[2]["measured"]
    text = "\n".join(versus_section(r))
    assert text.count("| baseline_same_ef |") == 1
    assert "WORDSIM_SEARCH_EF=512, our ef; its own default is 256): c=16 throughput 1.20×." in text
