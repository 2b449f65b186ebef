"""Formatting helpers shared by the RESULTS.md sections."""

from __future__ import annotations

MIB = 1 << 20
LABEL = {
    "ours_w1t2": "ours, WORKERS=1 EXECUTOR_THREADS=2 (default)",
    "ours_w2t2": "ours, WORKERS=2 EXECUTOR_THREADS=2",
    "original": "original design (bench/baseline_original.py, torch default threads)",
    "original_t1": "original design, tuned: torch.set_num_threads(1), c=16 only",
}


def ms(x: float) -> str:
    return f"{x:.2f}"


def context(r: dict) -> str:
    m = r["meta"]
    return (
        f"_{m['backend']} · model `{m['model_fingerprint']}` · encoder backend `{m['encoder_backend']}` · "
        f"os.cpu_count() = {m['cpu_count']}_"
    )


def table(head: list[str], rows: list[list[object]]) -> list[str]:
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return [*out, ""]
