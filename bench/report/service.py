"""Sections 5 and 7 of RESULTS.md and the profiles: the service's cold start, the soak, and
where its time goes."""

from __future__ import annotations

from bench.report.format import LABEL, context, ms, table


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


def soak_section(r: dict) -> list[str]:
    if "soak" not in r:
        return ["## 7. Soak", "", "Not run (use --soak, or the full run).", ""]
    s = r["soak"]
    rows = [
        [who, f"{v['after_warmup']:.0f}", f"{v['end']:.0f}", f"{v['change'] * 100:+.1f} %"]
        for who, v in s["rss_mib"].items()
    ]
    ps = s["rps_per_second"]
    out = [
        "## 7. Soak",
        "",
        context(r),
        "",
        f"{s['duration_s']:.0f} s at c={s['concurrency']} against the default configuration: "
        f"{s['requests']:,} answers, **{s['errors']} errors**, {s['rps']:.0f} req/s (per second: min "
        f"{ps['min']}, median {ps['median']:.0f}, max {ps['max']}), p50 {ms(s['latency_ms']['p50'])} ms, "
        f"p99 {ms(s['latency_ms']['p99'])} ms.",
        "",
        "RSS (MiB; server = sanic_milvus.py and its workers; milvus = the LocalMilvus helper, its "
        "forwarder and the milvus binary), sampled every second:",
        "",
    ]
    out += table(["process tree", "after warm-up", "end", "change"], rows)
    if s["error_samples"]:
        out += ["Error samples: " + "; ".join(f"`{e}`" for e in s["error_samples"]), ""]
    return out


def profile_section(r: dict) -> list[str]:
    out = ["## Where the time goes (py-spy + per-thread CPU, c=1 and c=16)", "", context(r), ""]
    found = False
    for name, svc in r["services"].items():
        for key in ("profile_c1", "profile"):
            prof = svc.get(key)
            if prof:
                found = True
                out += _profile(name, prof)
    return out if found else []


def _profile(name: str, prof: dict) -> list[str]:
    out = [
        f"**{LABEL[name]}**, c={prof.get('concurrency', 16)}, at {prof['rps']:.0f} req/s: "
        f"{prof['samples']:,} active-thread samples at {prof['rate_hz']} Hz over "
        f"{prof['seconds']:.1f} s (raw stacks: bench/{prof['raw']}); py-spy's own sampling adds load.",
        "",
    ]
    rows = []
    for g, v in prof["groups"].items():
        top = "; ".join(f"`{f}` {x:.0%}" for f, x in v["top_frames"])
        rows.append([g, f"{v['cores']:.2f}", top])
    out += table(["thread group", "cores (CPU s / wall s)", "top frames where active (self)"], rows)
    out += table(
        ["stacks holding (share of active samples)", ""],
        [[k, f"{v * 100:.1f} %"] for k, v in prof["categories"].items()],
    )
    return out
