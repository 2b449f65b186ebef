"""Section 3 of RESULTS.md: throughput at c=16 with each party's cores."""

from __future__ import annotations

from bench.phases.plan import DEFAULT, OURS
from bench.report.format import LABEL, context, cores, ms, table

CPU_KEYS = ("server", "milvus", "forwarder", "load client", "other work on the machine")
"""The parties whose cores the c=16 run reports (``phases.service.throughput_with_cpu``)."""


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
        f"## 3. Throughput at concurrency {r['services'][DEFAULT]['throughput']['concurrency']}",
        "",
        context(r),
        "",
    ]
    out += table(["service", "req/s", "p50 ms", "p99 ms", "requests", "errors", "queries repeated"], rows)
    out += [
        f"Cores used during the c=16 run (psutil CPU time / wall time, warm-up included; {cores(r)} exist):",
        "",
    ]
    out += table(["service", *CPU_KEYS], cpu_rows)
    w1, w2 = (r["services"][n] for n in OURS)
    best = "WORKERS=2" if w2["throughput"]["rps"] > w1["throughput"]["rps"] else "WORKERS=1"
    out += [
        f"On this machine, this run: WORKERS=1 {w1['throughput']['rps']:.0f} req/s, c=1 p50 "
        f"{ms(w1['latency_dict']['latency_ms']['p50'])} ms; WORKERS=2 {w2['throughput']['rps']:.0f} req/s, "
        f"c=1 p50 {ms(w2['latency_dict']['latency_ms']['p50'])} ms; more throughput with {best}. Both "
        f"share the same {cores(r)} with Milvus and the load client. With WORKERS=2 each worker keeps its "
        "own answer cache (no cached repeat row).",
        "",
    ]
    return out
