"""The hostile-clients section of RESULTS.md rendered from a made-up results dict of the
shape bench/phases/hostile.py records (no Milvus, no server): the table, a verdict per
target, the 501 that answers a made-up method kept out of the 5xx, and the section put
into RESULTS.md in place of its previous version."""

from __future__ import annotations

from bench.report.hostile import HEADING, hostile_checks, hostile_section, splice


def ordinary(p50: float, requests: int = 3000, **statuses: int) -> dict:
    latency = {"n": requests, "mean": p50, "p50": p50, "p90": p50 * 1.5, "p99": p50 * 3, "max": p50 * 9}
    run = {"requests": requests, "errors": sum(statuses.values()), "wrapped": False}
    return run | {"statuses": {"200": requests} | statuses, "latency_ms": latency}


def metrics(series: int, **statuses: int) -> dict:
    return {
        "series": series,
        "bytes": series * 80,
        "statuses": {"200": 1} | statuses,
        "refused": {"heavy_queue": 0},
    }


def case(attack_p50: float, answers: dict, *, held=None, answer_s=None, server_500: int = 0, **extra) -> dict:
    attackers = {
        "processes": 2 if held else 1,
        "connections": 20_500 if held else 4,
        "answers": answers | {"readyz": {"200": 20}},
        "errors": 0,
        "error_samples": [],
        "connects": 41_000 if held else 4,
        "held": held,
        "answer_s": answer_s,
    }
    return {
        "idle": ordinary(6.0),
        "attack": ordinary(attack_p50),
        "attackers": attackers,
        "server_at_end": {"rss_mib": 300.0, "fds": 9000 if held else 30},
        "metrics_after": metrics(120, **{"500": server_500}),
    } | extra


def results(settled_rss: float = 280.0) -> dict:
    cases = {
        "compare": case(9.0, {"compare": {"200": 40}}),
        "lists": case(30.0, {"lists": {"200": 20, "429": 3}}),
        "idle": case(
            7.0, {"idle": {"closed": 40_000}}, held={"min": 11_000, "median": 12_345, "max": 13_000}
        ),
        "trickle": case(6.5, {"trickle": {"408": 72}}, answer_s={"p50": 10.2, "max": 10.9}, server_500=36),
        "flood": case(
            8.0,
            {"FOO": {"501": 900}, "new_method": {"501": 900}, "min_freq": {"400": 900}},
            server_500=72,  # counters: 36 more than after the trickle
            metrics_before=metrics(120, **{"500": 36}),
        ),
    }
    hostile = {
        "words": 50_000,
        "seconds": 20.0,
        "seed": 7,
        "words_per_run": 4985,
        "config": {
            "keep_alive_timeout_s": 5.0,
            "request_timeout_s": 10.0,
            "max_client_requests": 8,
            "heavy_in_flight": 1,
            "heavy_queue": 8,
            "answer_cache_mb": 32.0,
            "max_connections": 19_488,
        },
        "after_warmup": {"rss_mib": 250.0, "fds": 25, "metrics": metrics(100)},
        "settled": {"rss_mib": settled_rss, "fds": 25, "metrics": metrics(120, **{"500": 72})},
        "cases": cases,
    }
    meta = {
        "command": ".venv/bin/python -m bench.phases.hostile",
        "date": "today",
        "cpu_count": 6,
        "platform": "Linux",
        "python": "3.11",
        "backend": "local Milvus 2.3.5 server",
        "loadavg_start": [1.0],
        "loadavg_end": [2.0],
        "git": {"commit": "abc1234"},
    }
    return {"meta": meta, "hostile": hostile}


def test_the_section_shows_each_case_against_idle_with_the_run_s_machine():
    text = "\n".join(hostile_section(results()))
    assert text.startswith(HEADING)
    assert (
        "os.cpu_count() = 6" in text
        and "50,000 words" in text
        and "`.venv/bin/python -m bench.phases.hostile`" in text
    )
    compare = "| 4 clients loop /compare, 64 pairs of 64-character texts |"
    assert compare + " 6.00 / 18.00 | 9.00 / 27.00 | 1.50× / 1.50× |" in text
    assert "20,500 idle connections from 2 processes" in text and "median 12,345" in text
    assert "| 3,000 / 3,000 (0) |" in text
    assert text.count("| 0 / 36 |") == 2  # none received; the server counted 36 (trickle, flood)
    assert "| 3 |" in text  # the lists' 429s
    assert "answered after median 10.2 s" in text


def test_every_target_has_a_verdict_and_a_made_up_method_s_501_is_no_5xx():
    rows = hostile_checks(results()["hostile"])
    assert len(rows) == 8 and all(row["target"].startswith("hostile: ") for row in rows)
    by_target = {row["target"]: row for row in rows}
    lists = next(row for t, row in by_target.items() if "64-item lists" in t)
    assert lists["verdict"] == "MISS" and lists["measured"] == "30.00 / 6.00 ms = 5.00×"
    fives = next(row for t, row in by_target.items() if "0 5xx" in t)
    assert fives["verdict"] == "PASS" and "server's own count: 72" in fives["measured"]
    others = [row["verdict"] for t, row in by_target.items() if row not in (lists,)]
    assert set(others) == {"PASS"}, rows
    assert "MISS" in {row["verdict"] for row in hostile_checks(results(settled_rss=400.0)["hostile"])}


def test_the_section_replaces_its_previous_version_or_goes_before_the_finished_studies():
    section = hostile_section(results())
    old = "# Benchmark results\n\n## 7. Soak\n\nsoak\n\n## Finished studies, no longer run\n\n- x\n"
    once = splice(old, section)
    assert once.index(HEADING) < once.index("## Finished studies") and once.index("## 7. Soak") < once.index(
        HEADING
    )
    again = splice(once, section)
    assert again == once and again.count(HEADING) == 1
    assert splice("# Benchmark results\n", section).endswith(section[-2] + "\n")
