"""Sections of RESULTS.md on Milvus' own floor, the soak and the profiles."""

from __future__ import annotations

from report_util import LABEL, context, ms, table

PROBE_CALLS = (
    ("has_collection_ms", "has_collection (trivial RPC)"),
    ("search_ms", "search, output `text`"),
    ("search_no_output_fields_ms", "search, no output fields"),
    ("search_batch16_ms", "one search call with 16 queries (nq=16), output `text`"),
)
PROBE_PATHS = (("forwarded", "through the LocalMilvus forwarder"), ("direct", "direct, inside the namespace"))


def probe_table(r: dict) -> list[str]:
    """Milvus' own floor: a trivial RPC and the search, through the forwarder and direct."""
    probes = r["search"].get("probes") or {}
    rows: list[list[object]] = []
    for where, label in PROBE_PATHS:
        p = probes.get(where)
        if not p:
            rows.append([label, "not measured", "", "", ""])
            continue
        for key, what in PROBE_CALLS:
            v = p.get(key)
            if v is None:
                continue
            rows.append([f"{what}, {label}", v["n"], ms(v["p50"]), ms(v["p99"]), ms(v["client_cpu_ms"])])
    out = [
        "Milvus' own floor (bench/search_probe.py, a fresh process, same query vectors; *direct* enters "
        "Milvus' network namespace with nsenter, bypassing the forwarder):",
        "",
    ]
    return out + table(["call", "n", "p50 ms", "p99 ms", "client CPU ms per call"], rows)


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
    out = ["## Where the time goes (py-spy + per-thread CPU, c=16)", "", context(r), ""]
    found = False
    for name, svc in r["services"].items():
        prof = svc.get("profile")
        if not prof:
            continue
        found = True
        out += [
            f"**{LABEL[name]}** at {prof['rps']:.0f} req/s: {prof['samples']:,} active-thread samples at "
            f"{prof['rate_hz']} Hz over "
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
    return out if found else []
