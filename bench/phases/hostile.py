"""The hostile-clients phase: the ordinary query's latency while clients attack the server,
against its latency idle just before, case by case (not a timed test: a measurement).

    .venv/bin/python -m bench.phases.hostile [--words 50000] [--seconds 20] [--report]

Alone, it starts a private Milvus (bench/out), ingests the first ``--words`` words of
jieba's dictionary, runs the cases and writes bench/out/hostile.json and prints its section
(``--report``: also puts the section into bench/RESULTS.md); ``make bench`` runs it after
the soak. The server is ``sanic_milvus.py`` in the default configuration (WORKERS=1, the
settings' defaults, the default collection only).

Per case: the ordinary client (bench/probes/load_client.py: c=1, sequential, single
dictionary words of a fixed seeded sample, a fresh slice each run, so no answer is cached)
runs ``seconds`` against the idle server, then the attackers
(bench/probes/hostile_client.py, separate processes) start, and after their ramp the
ordinary client runs ``seconds`` again while they attack. The server's RSS and open files
are read at the end of each attack and after a settle at the end; ``/metrics`` is scraped
after warm-up, around the flood and at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
import urllib.request
from collections import Counter
from statistics import median

from bench.common import OUT_DIR, Service, child_env, probe_cmd, run_logged, summarize, tree_rss, tree_sum
from bench.phases.plan import DEFAULT, OURS, SERVER_READY_S, WARM_REQUESTS
from bench.phases.queries import pick_queries
from bench.phases.servers import load, our_service
from bench.probes.hostile_client import FLOOD
from bench.probes.protocol import last_json
from bench.units import MIB

SEED = 20240619
CASES = {
    "compare": (1, 4, 1.0),
    "lists": (1, 4, 1.0),
    "idle": (2, 10_250, 8.0),
    "trickle": (1, 36, 2.0),
    "flood": (1, 4, 1.0),
}
"""Each case: attacker processes, connections of each, seconds of ramp before measuring."""
ATTACKER_SPARE_S = 60.0
"""An attacker ends by itself this long after its case should have ended."""
FINAL_SETTLE_S = 15.0
_REQUESTS = re.compile(r'^wordsim_requests_total\{.*status="(\d+)".*\} (\S+)$')
_REFUSED = re.compile(r'^wordsim_refused_total\{reason="(\w+)"\} (\S+)$')


def scrape(svc: Service) -> dict:
    """``/metrics``: its series (sample lines), bytes, answers by status, refusals by reason."""
    with urllib.request.urlopen(svc.base_url + "/metrics", timeout=30) as resp:
        text = resp.read().decode()
    series = [line for line in text.splitlines() if line and not line.startswith("#")]
    statuses: dict[str, int] = Counter()
    refused = {}
    for line in series:
        if found := _REQUESTS.match(line):
            statuses[found.group(1)] += int(float(found.group(2)))
        elif found := _REFUSED.match(line):
            refused[found.group(1)] = int(float(found.group(2)))
    return {"series": len(series), "bytes": len(text.encode()), "statuses": statuses, "refused": refused}


def server_state(svc: Service) -> dict:
    pid = svc.proc.pid
    return {"rss_mib": tree_rss(pid) / MIB, "fds": int(tree_sum(pid, lambda p: p.num_fds()))}


def attacker_cmd(kind: str, svc: Service, connections: int, seconds: float, *extra: str) -> list[str]:
    args = ["--port", str(svc.port), "--connections", str(connections), "--seconds", str(seconds)]
    return probe_cmd("hostile_client", kind, *args, *extra)


def merge(results: list[dict]) -> dict:
    """The attackers' results of one case, summed over their processes."""
    answers: dict[str, Counter] = {}
    for res in results:
        for kind, by_status in res["answers"].items():
            answers.setdefault(kind, Counter()).update(by_status)
    held = [sum(each) for each in zip(*(res["held_samples"] for res in results), strict=False)]
    waits = [s for res in results for s in res["answer_s"]]
    return {
        "processes": len(results),
        "connections": sum(res["connections"] for res in results),
        "answers": {kind: dict(v) for kind, v in answers.items()},
        "errors": sum(res["errors"] for res in results),
        "error_samples": [e for res in results for e in res["error_samples"]][:5],
        "connects": sum(res["connects"] for res in results),
        "held": {"min": min(held), "median": median(held), "max": max(held)} if held else None,
        "answer_s": summarize(waits) if waits else None,
    }


def run_case(svc: Service, name: str, idle_words: list[str], attack_words: list[str], seconds: float) -> dict:
    processes, connections, ramp = CASES[name]
    res = {"idle": load(svc, idle_words, f"hostile_{name}_idle", duration=seconds)}
    if name == "flood":  # each kind once first: the label values any of them may add, added
        warm = attacker_cmd(name, svc, 1, seconds, "--requests", str(len(FLOOD)))
        run_logged(warm, child_env(), "hostile_flood_warm.log")
        res["metrics_before"] = scrape(svc)
    limit = ramp + seconds + ATTACKER_SPARE_S
    attackers = [
        Service(
            f"hostile_{name}_{i}",
            attacker_cmd(name, svc, connections, limit, "--ramp", str(ramp), "--seed", str(SEED + i))
            + (["--watch"] if i == 0 else []),
            child_env(),
            svc.port,
        )
        for i in range(processes)
    ]
    try:
        for attacker in attackers:
            attacker.start()
        time.sleep(ramp)
        res["attack"] = load(svc, attack_words, f"hostile_{name}", duration=seconds)
        res["server_at_end"] = server_state(svc)
    finally:
        for attacker in attackers:
            attacker.stop()
    try:
        res["attackers"] = merge([last_json(a.log_path.read_text()) for a in attackers])
    except (ValueError, IndexError) as exc:
        raise RuntimeError(f"an attacker printed no result: see {OUT_DIR}/hostile_{name}_*.log") from exc
    res["metrics_after"] = scrape(svc)
    return res


def hostile(uri: str, texts: list[str], words: int, seconds: float) -> dict:
    """Every case against one server of the default configuration, on Milvus at ``uri``."""
    from wordsim.service.connections import connection_cap
    from wordsim.settings import load_settings

    s = load_settings()
    q = pick_queries(texts, set(), WARM_REQUESTS, 0, SEED, s.max_text_chars)
    runs = q.segments(tuple(f"{name}_{when}" for name in CASES for when in ("idle", "attack")))
    keys = ("keep_alive_timeout_s", "request_timeout_s", "max_client_requests", "heavy_in_flight")
    keys += ("heavy_queue", "answer_cache_size", "answer_cache_mb", "max_inputs", "max_text_chars")
    out: dict = {
        "words": words,
        "seconds": seconds,
        "seed": SEED,
        "words_per_run": len(runs["compare_idle"]),
        "config": {k: getattr(s, k) for k in keys} | {"max_connections": connection_cap(s.max_connections)},
        "cases": {},
    }
    with our_service("hostile", uri, OURS[DEFAULT]) as svc:
        svc.wait_ready(SERVER_READY_S)
        load(svc, q.dictionary, "hostile_warm")
        out["after_warmup"] = server_state(svc) | {"metrics": scrape(svc)}
        for name in CASES:
            print(f"[{time.strftime('%H:%M:%S')}] hostile: {name}", flush=True)
            out["cases"][name] = run_case(svc, name, runs[f"{name}_idle"], runs[f"{name}_attack"], seconds)
            time.sleep(s.keep_alive_timeout_s + 2)  # the attack's connections closed
        time.sleep(FINAL_SETTLE_S)
        out["settled"] = server_state(svc) | {"metrics": scrape(svc)}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--words", type=int, default=50_000, help="words of the dictionary ingested")
    what = "of each ordinary run, idle and attacked (10 at least: a trickle's 408 comes at 10 s)"
    p.add_argument("--seconds", type=float, default=20.0, help=what)
    p.add_argument("--report", action="store_true", help="also put the section into bench/RESULTS.md")
    args = p.parse_args(argv)
    from bench.common import BENCH_DIR
    from bench.phases.ingest import ingest
    from bench.record import run_meta, strip_private
    from bench.report.hostile import hostile_section, splice
    from wordsim.ingest.wordlist import jieba_dict_path, read_words
    from wordsim.local_milvus.launcher import LocalMilvus
    from wordsim.settings import load_settings

    settings = load_settings()
    texts = [w.text for w in read_words(jieba_dict_path(), limit=args.words).words]
    r: dict = {"meta": run_meta("bench.phases.hostile")}
    data_dir = OUT_DIR / f"milvus-hostile-{os.getpid()}"
    lm = LocalMilvus(settings, port=0, data_dir=data_dir)
    try:
        lm.start()
        root = int(lm.pid_file.read_text().split()[0])
        done = ingest(lm.uri, args.words, settings.collection, data_dir / "logs" / "milvus-stdout.log", root)
        r["hostile"] = hostile(lm.uri, texts, done["rows"], args.seconds)
    finally:
        lm.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    r = strip_private(r)
    r["meta"]["loadavg_end"] = os.getloadavg()
    (OUT_DIR / "hostile.json").write_text(json.dumps(r, indent=1, ensure_ascii=False) + "\n")
    section = hostile_section(r)
    print("\n".join(section))
    if args.report:
        results_md = BENCH_DIR / "RESULTS.md"
        results_md.write_text(splice(results_md.read_text(encoding="utf-8"), section), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
