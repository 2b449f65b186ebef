"""RESULTS.md: this checkout's server against the baseline commit's (same run, interleaved
rounds), and the targets judged on it."""

from __future__ import annotations

from bench.report.format import context, ms, table

CPU_PER_REQUEST_MAX_MS = 3.0
THROUGHPUT_VS_BASELINE_MIN = 1.5


def versus_targets(r: dict) -> list[dict]:
    """Server CPU per request at c=1 (the default configuration's dictionary run, and the
    median of the versus rounds) and c=16 throughput against the baseline commit's."""
    v = r.get("versus")
    if not v or "error" in v:
        return []
    ours, base = v["medians"]["ours"], v["medians"]["baseline"]
    cpu = ours["cpu_ms_per_request"]
    out = [
        {
            "target": f"server CPU per request at c=1 ≤ {CPU_PER_REQUEST_MAX_MS:g} ms (median of the rounds)",
            "measured": f"{cpu:.2f} ms (commit {v['commit']}: {base['cpu_ms_per_request']:.2f} ms)",
            "ratio": cpu / CPU_PER_REQUEST_MAX_MS,
            "verdict": "PASS" if cpu <= CPU_PER_REQUEST_MAX_MS else "MISS",
        }
    ]
    ratio = v["c16_ratio"]
    out.append(
        {
            "target": f"c=16 throughput ≥ {THROUGHPUT_VS_BASELINE_MIN:g}× commit {v['commit']}'s, same run",
            "measured": f"{ours['c16_rps']:.0f} / {base['c16_rps']:.0f} req/s = {ratio:.2f}×",
            "ratio": ratio / THROUGHPUT_VS_BASELINE_MIN,
            "verdict": "PASS" if ratio >= THROUGHPUT_VS_BASELINE_MIN else "MISS",
        }
    )
    same_ef = v["medians"].get("baseline_same_ef")
    if same_ef:  # the service's own path, apart from the index choice
        rps = f"{ours['c16_rps']:.0f} / {same_ef['c16_rps']:.0f} req/s"
        out.append(
            {
                "target": f"(information) c=16 throughput vs commit {v['commit']} searching with "
                f"ef={v['search_ef']} too",
                "measured": f"{rps} = {v['c16_ratio_same_ef']:.2f}×",
                "ratio": v["c16_ratio_same_ef"],
                "verdict": "info",
            }
        )
    return out


def versus_section(r: dict) -> list[str]:
    v = r.get("versus")
    if not v:
        return []
    if "error" in v:
        return [f"## This server against commit {v['commit']}", "", f"Not measured: {v['error']}", ""]
    rows = []
    for variant, runs in v["rounds"].items():
        for i, run in enumerate(runs):
            rows.append(
                [
                    variant,
                    i,
                    f"{run['cpu_ms_per_request']:.2f}",
                    ms(run["p50_ms"]),
                    f"{run['c16_rps']:.0f}",
                    run["errors"],
                ]
            )
    for variant, med in v["medians"].items():
        rows.append(
            [
                f"**{variant}, median**",
                "",
                f"{med['cpu_ms_per_request']:.2f}",
                ms(med["p50_ms"]),
                f"{med['c16_rps']:.0f}",
                "",
            ]
        )
    out = [
        f"## This server against commit {v['commit']} (same run, interleaved)",
        "",
        context(r),
        "",
        f"Both with WORKERS=1, EXECUTOR_THREADS=2 and the answer cache off, a fresh server per round, the "
        f"order alternating; commit {v['commit']}'s files extracted with `git archive` and its "
        "`sanic_milvus.py` run from there (it imports its own `wordsim`). CPU = the server process's "
        "CPU seconds (psutil) over the c=1 dictionary run, per request.",
        "",
    ]
    out += table(["server", "round", "CPU ms / request, c=1", "p50 ms, c=1", "req/s, c=16", "errors"], rows)
    out += [
        f"Ours / commit {v['commit']}: CPU per request {v['cpu_ratio']:.2f}×, c=16 throughput "
        f"{v['c16_ratio']:.2f}×"
        + (
            f"; against `baseline_same_ef` (commit {v['commit']} with WORDSIM_SEARCH_EF={v['search_ef']}, "
            f"our ef; its own default is 256): c=16 throughput {v['c16_ratio_same_ef']:.2f}×."
            if "c16_ratio_same_ef" in v
            else "."
        ),
        "",
    ]
    graphs = [
        f"[{variant} c={conc[1:]}]({path})"
        for variant, by_c in v.get("flame_graphs", {}).items()
        for conc, path in by_c.items()
    ]
    if graphs:
        out += [
            "Flame graphs (py-spy, active threads only, last round): " + ", ".join(graphs) + ".",
            "",
        ]
    return out
