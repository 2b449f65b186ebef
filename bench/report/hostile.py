"""The hostile-clients section of RESULTS.md (bench/phases/hostile.py) and its targets."""

from __future__ import annotations

from bench.probes.hostile_client import CHARS, FLOOD, ITEMS, TOP_K
from bench.report.format import check, ms, table

P50_RATIO_MAX = 3.0
RSS_RETURN_MAX = 0.20
HEADING = "## Hostile clients: ordinary queries under attack"
METHOD_KINDS = frozenset(FLOOD) - {"min_freq"}
"""The flood's made-up methods: their 501 (Not Implemented) is the answer RFC 9110 asks for."""
CASE = {
    "compare": "{n} clients loop /compare, {items} pairs of {chars}-character texts",
    "lists": "{n} clients loop {items}-item lists of {chars}-character texts, top_k={top_k}",
    "idle": "{n:,} idle connections from {p} processes, reopened when closed",
    "trickle": "{n} connections trickle a request head, a byte a second",
    "flood": "made-up methods and min_freq=2^63 on {n} connections, one request each",
}


def label(name: str, case: dict) -> str:
    a = case["attackers"]
    return CASE[name].format(n=a["connections"], p=a["processes"], items=ITEMS, chars=CHARS, top_k=TOP_K)


def answers(case: dict) -> dict[str, dict[str, int]]:
    """Every answer of a case by who asked and status: the ordinary client (idle and
    attacked), each kind of attack, /readyz."""
    return {"ordinary_idle": case["idle"]["statuses"], "ordinary": case["attack"]["statuses"]} | case[
        "attackers"
    ]["answers"]


def count(case: dict, wanted) -> int:
    """Answers of the case whose (kind, status) is ``wanted``."""
    return sum(
        n
        for kind, by_status in answers(case).items()
        for status, n in by_status.items()
        if status.isdigit() and wanted(kind, int(status))
    )


def is_5xx(kind: str, status: int) -> bool:
    return status >= 500 and not (status == 501 and kind in METHOD_KINDS)


def server_5xx(h: dict) -> dict[str, int]:
    """Each case's 5xx (501 aside) by the server's own count (``/metrics``, scraped after it)."""
    out, before = {}, h["after_warmup"]["metrics"]["statuses"]
    for name, case in h["cases"].items():
        now = case["metrics_after"]["statuses"]
        out[name] = sum(n - before.get(s, 0) for s, n in now.items() if int(s) >= 500 and s != "501")
        before = now
    return out


def ratio(case: dict, p: str) -> float:
    return case["attack"]["latency_ms"][p] / case["idle"]["latency_ms"][p]


def hostile_checks(h: dict) -> list[dict]:
    """The targets of the phase, one row each."""
    cases, out = h["cases"], []
    for name in ("compare", "lists"):
        c = cases[name]
        idle, hit = c["idle"]["latency_ms"]["p50"], c["attack"]["latency_ms"]["p50"]
        measured = f"{hit:.2f} / {idle:.2f} ms = {hit / idle:.2f}×"
        target = f"ordinary p50 ≤ {P50_RATIO_MAX:g}× idle while {label(name, c)}"
        out.append(check(target, measured, hit / idle, P50_RATIO_MAX))
    c, a = cases["idle"], cases["idle"]["attack"]
    held = c["attackers"]["held"] or {"median": 0}
    measured = f"{a['requests']:,} answered, {a['errors']} failed (held: median {held['median']:,.0f})"
    out.append(_zero(f"ordinary queries answered while {label('idle', c)}", measured, a["errors"]))
    t = cases["trickle"]["attackers"]["answers"].get("trickle", {})
    got, total = t.get("408", 0), sum(t.values())
    out.append(check("trickling clients answered 408", f"{got} of {total}", got, max(total, 1), False))
    fives, counted = sum(count(c, is_5xx) for c in cases.values()), sum(server_5xx(h).values())
    measured = f"{fives} received (the server's own count: {counted})"
    out.append(_zero("0 5xx across every case (attackers, ordinary, /readyz)", measured, fives))
    f = cases["flood"]
    before, after, n = f["metrics_before"]["series"], f["metrics_after"]["series"], _flood_requests(f)
    measured = f"{before} → {after} series over a flood of {n:,}"
    out.append(check("/metrics series count independent of what clients send", measured, after, before))
    ready = [c["attackers"]["answers"].get("readyz", {}) for c in cases.values()]
    bad = sum(n for r in ready for status, n in r.items() if status != "200")
    polls = sum(sum(r.values()) for r in ready)
    out.append(_zero("/readyz 200 throughout", f"{bad} not 200 of {polls}", bad))
    w, s = h["after_warmup"]["rss_mib"], h["settled"]["rss_mib"]
    measured = f"{w:.0f} → {s:.0f} MiB ({(s / w - 1) * 100:+.1f} %)"
    target = f"server RSS within {RSS_RETURN_MAX * 100:g} % of post-warm-up after the attacks"
    out.append(check(target, measured, abs(s / w - 1), RSS_RETURN_MAX))
    for row in out:
        row["target"] = "hostile: " + row["target"]
    return out


def _zero(target: str, measured: str, n: int) -> dict:
    return {"target": target, "measured": measured, "ratio": float(n), "verdict": "MISS" if n else "PASS"}


def _flood_requests(case: dict) -> int:
    return sum(sum(v.values()) for kind, v in case["attackers"]["answers"].items() if kind in FLOOD)


def _statuses(by_status: dict[str, int]) -> str:
    return ", ".join(f"{s}: {n:,}" for s, n in sorted(by_status.items())) or "none"


def hostile_section(r: dict) -> list[str]:
    h = r.get("hostile")
    if not h:
        return []
    m, c = r["meta"], h["config"]
    end = f", {m['loadavg_end'][0]:.2f} at end" if "loadavg_end" in m else ""
    commit = m.get("git", {}).get("commit", "?")
    out = [
        HEADING,
        "",
        f"- Command: `{m['command']}`; date {m['date']}; code at commit {commit}",
        f"- Machine: os.cpu_count() = {m['cpu_count']}, {m['platform']}, Python {m['python']}; load average "
        f"{m['loadavg_start'][0]:.2f} at start{end} (other work shares the machine)",
        f"- {m['backend']} with {h['words']:,} words of jieba's dictionary: an attack costs per request "
        "(the texts it encodes and searches), not per word of the collection",
        f"- Server: WORKERS=1 and the settings' defaults: keep-alive {c['keep_alive_timeout_s']:g} s, "
        f"request deadline {c['request_timeout_s']:g} s, at most {c['max_connections']:,} connections "
        f"(the open-file limit less 512), {c['max_client_requests']} requests per client at once, "
        f"{c['heavy_in_flight']} heavy request worked on + {c['heavy_queue']} queued, answer cache "
        f"{c['answer_cache_mb']:g} MB",
        f"- Ordinary client: c=1, sequential, single dictionary words (seed {h['seed']}, a fresh slice of "
        f"{h['words_per_run']:,} words per run: no cached answer), {h['seconds']:g} s idle, then "
        f"{h['seconds']:g} s while the attack runs (after its ramp). Attackers: "
        "bench/probes/hostile_client.py in their own processes, from 127.0.0.1 like the ordinary client, "
        "random CJK texts new in every request (no cache hits)",
        "",
    ]
    rows, counted = [], server_5xx(h)
    for name, case in h["cases"].items():
        i, a = case["idle"]["latency_ms"], case["attack"]["latency_ms"]
        wrapped = " (words repeated: cached)" if case["idle"]["wrapped"] or case["attack"]["wrapped"] else ""
        n = case["attack"]["requests"]
        rows.append(
            [
                label(name, case),
                f"{ms(i['p50'])} / {ms(i['p99'])}",
                f"{ms(a['p50'])} / {ms(a['p99'])}",
                f"{ratio(case, 'p50'):.2f}× / {ratio(case, 'p99'):.2f}×",
                f"{case['idle']['requests']:,} / {n:,} ({case['attack']['errors']}){wrapped}",
                f"{count(case, is_5xx)} / {counted[name]}",
                count(case, lambda _kind, s: s == 429),
                f"{case['server_at_end']['rss_mib']:.0f}",
                f"{case['server_at_end']['fds']:,}",
            ]
        )
    head = ["attack", "idle p50 / p99 ms", "attacked p50 / p99 ms", "ratio p50 / p99"]
    head += ["ordinary answered idle / attacked (failed)", "5xx received / server's count", "429"]
    head += ["server RSS MiB at end", "server files at end"]
    out += table(head, rows)
    out += _notes(h)
    rows = [[t["target"], t["measured"], f"{t['ratio']:.2f}", t["verdict"]] for t in hostile_checks(h)]
    return out + table(["target", "measured", "measured/limit", ""], rows)


def _notes(h: dict) -> list[str]:
    cases, out = h["cases"], []
    for name, case in cases.items():
        a = case["attackers"]
        by_kind = "; ".join(f"{k} {_statuses(v)}" for k, v in a["answers"].items())
        line = f"- {name}: attackers' answers by status: {by_kind}; {a['errors']} connection errors"
        if a["held"]:
            held = a["held"]
            line += (
                f"; held open (client side, each second): median {held['median']:,.0f}, min {held['min']:,}, "
                f"max {held['max']:,}; {a['connects']:,} connections made"
            )
        if a["answer_s"]:
            line += f"; answered after median {a['answer_s']['p50']:.1f} s (max {a['answer_s']['max']:.1f})"
        refused = case["metrics_after"]["refused"]
        line += "; server refusals so far: " + _statuses(refused)
        out.append(line)
    before, after = cases["flood"]["metrics_before"], cases["flood"]["metrics_after"]
    w, s = h["after_warmup"], h["settled"]
    out += [
        f"- /metrics: {before['series']} series ({before['bytes']:,} bytes) before the flood, "
        f"{after['series']} ({after['bytes']:,} bytes) after; "
        f"{w['metrics']['series']} after warm-up, {s['metrics']['series']} at the end (one series per "
        "route, method and status met: a new status adds one, a new method none)",
        f"- Server RSS {w['rss_mib']:.0f} MiB after warm-up, {s['rss_mib']:.0f} MiB after the attacks and a "
        f"settle; its answers by status over the run (its own count): {_statuses(s['metrics']['statuses'])}",
        "- 5xx: answers of 500 or more except the 501 that answers a made-up method by design; received: "
        "by the ordinary client, the attackers and the /readyz poll; the server's count: its "
        "`wordsim_requests_total` over the case, which also counts requests whose client left first",
        "",
    ]
    return out


def splice(text: str, section: list[str]) -> str:
    """``text`` (RESULTS.md) with its hostile section replaced by ``section``, or with it
    put before the finished studies (or at the end) when it has none."""
    lines = text.rstrip("\n").split("\n")
    if HEADING in lines:
        start = lines.index(HEADING)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    else:
        start = end = next((i for i, x in enumerate(lines) if x.startswith("## Finished")), len(lines))
    return "\n".join([*lines[:start], *section, *lines[end:]]).rstrip("\n") + "\n"
