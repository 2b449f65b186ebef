"""Sections of the speed work that are not service runs: the encoder's session and export
variants, and a clean clone's ``make run`` to its first answer."""

from __future__ import annotations

from bench.phases.plan import DEFAULT
from bench.report.format import SETS, table

ENCODER_TARGET_MS = 0.6
FIRST_ANSWER_TARGET_S = 360
E2E_OVER_PARTS_MAX = 1.10
HEAD = ["variant", "p50 ms", "CPU ms / word", "max abs Δ vs torch", "batches: words/s", "p50 of each round"]


def encoder_variants_section(r: dict) -> list[str]:
    variants = r.get("encoder_variants")
    if not variants:
        return []
    rows = [
        [
            name,
            f"{v['p50_ms']:.3f}",
            f"{v['cpu_ms_per_word']:.3f}",
            f"{v['max_abs_delta_vs_torch']:.1e}",
            f"{v['batch_words_per_s']:.0f}" if "batch_words_per_s" in v else "",
            " ".join(f"{x:.3f}" for x in v["rounds_p50_ms"]),
        ]
        for name, v in variants.items()
    ]
    return [
        "## Encoder: one word under session and export variants",
        "",
        "`bench/probes/encoder_variants.py`: the same dictionary words through `encode_one`, every variant "
        "once per round, rounds interleaved; p50 of the wall time, CPU ms per word (process time, so "
        "spinning threads count), the largest difference from torch over 64 words, and words/s over about "
        "3,000 words in length-sorted batches of 256 (the ingest's way). The server runs the first row (its "
        "export, one thread per executor thread, spinning off); the ingest the second (one thread per core).",
        "",
        *table(HEAD, rows),
    ]


def first_answer_section(r: dict) -> list[str]:
    fa = r.get("first_answer")
    if not fa:
        return []
    marks = ", ".join(f"{k} {v} s" for k, v in fa.get("milestones_s", {}).items())
    return [
        "## A clean clone's `make run` to its first answer",
        "",
        "`bench/probes/first_answer.py`: `git clone` of the measured commit into a new folder (no venv, no "
        "data), `make run` there on free ports, `POST /vector_similarity usr_input=教师` once a second until "
        "the answer's first hit is 教师 (id 161872); then `/health` until the index is built.",
        "",
        f"- First correct answer after **{fa.get('first_answer_s')} s** "
        f"(target {FIRST_ANSWER_TARGET_S} s); the index then: `{fa.get('index_at_first_answer')}`.",
        f"- HNSW serving every row after {fa.get('index_built_s')} s.",
        f"- Milestones (first log line of each): {marks}.",
        "",
    ]


def _row(target: str, measured: str, value: float, limit: float) -> dict:
    return {
        "target": target,
        "measured": measured,
        "ratio": value / limit,
        "verdict": "PASS" if value <= limit else "MISS",
    }


def speed2_targets(r: dict) -> list[dict]:
    """The speed issue's own targets: c=1 end to end against its two parts measured alone,
    the encoder's one word, and a clean clone's first answer."""
    out = []
    search = r["search"]["by_ef"][str(r["search"]["configured_ef"])]
    svc = r["services"].get(DEFAULT)
    for key, lat_key, label in SETS:
        enc = r["encoder"]["encode_one_ms"][key]["p50"]
        s50 = search[key]["latency_ms"]["p50"]
        if svc:
            e2e = svc[lat_key]["latency_ms"]["p50"]
            parts = enc + s50
            out.append(
                _row(
                    f"W1T2 c=1 e2e p50 ≤ {E2E_OVER_PARTS_MAX}× (encoder alone + search alone), {label}",
                    f"{e2e:.2f} / ({enc:.2f} + {s50:.2f}) ms = {e2e / parts:.2f}×",
                    e2e / parts,
                    E2E_OVER_PARTS_MAX,
                )
            )
        out.append(
            _row(
                f"encoder one word p50 ≤ {ENCODER_TARGET_MS} ms, {label}",
                f"{enc:.2f} ms",
                enc,
                ENCODER_TARGET_MS,
            )
        )
    fa = r.get("first_answer")
    if fa and fa.get("first_answer_s"):
        out.append(
            _row(
                f"clean clone make run to first correct answer ≤ {FIRST_ANSWER_TARGET_S / 60:g} min",
                f"{fa['first_answer_s']:.0f} s",
                fa["first_answer_s"],
                FIRST_ANSWER_TARGET_S,
            )
        )
    return out
