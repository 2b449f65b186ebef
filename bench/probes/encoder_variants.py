"""One word through the ONNX encoder under several session settings and exports,
interleaved over rounds: p50 latency, CPU per word, and the largest difference from torch.

    python -m bench.probes.encoder_variants [--rounds 5] [--words 600]

Variants: intra-op threads 1 and 2, ONNX Runtime's thread spinning on and off, and two
exports of the same model: the service's (traced with torch's default attention) and one
traced with plain ("eager") attention, which exports with fewer operators. Each round also
encodes about 3,000 words in the ingest's length-sorted batches (words/s). Prints one JSON
line (``protocol.emit``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from bench.probes.protocol import emit
from wordsim.ingest.wordlist import jieba_dict_path
from wordsim.model.loader import encoder_for
from wordsim.model.onnx_backend import OnnxEncoder, open_session
from wordsim.model.onnx_export import _export, cache_paths
from wordsim.model.source import resolve_model
from wordsim.model.torch_backend import TorchEncoder
from wordsim.settings import load_settings


def eager_export(reference: TorchEncoder, folder: Path) -> Path:
    """The same model traced with plain attention (what the service's export does not do)."""
    import torch

    path = folder / "eager.onnx"
    reference.model.set_attn_implementation("eager")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _export(torch, reference, reference.tokenize(["教师", "教学"]), path)
    finally:
        reference.model.set_attn_implementation("sdpa")
    return path


def make_variants(source, exports: dict[str, Path], tokenizer_path: Path):
    for export, path in exports.items():
        for threads, spinning in ((1, False), (2, False), (2, True)):  # 1 thread never waits: no spin
            name = f"{export}, {threads} thread(s), spinning {'on' if spinning else 'off'}"
            yield name, OnnxEncoder(source, open_session(path, threads, spinning), tokenizer_path)


def delta(encoder, words: list[str], truth: np.ndarray) -> float:
    return float(np.abs(np.stack([encoder.encode_one(w) for w in words]) - truth).max())


def one_word(encoder, words: list[str]) -> tuple[float, float]:
    """p50 wall ms and mean CPU ms of ``encode_one`` over ``words``."""
    walls = []
    cpu0 = time.process_time()
    for w in words:
        t = time.perf_counter()
        encoder.encode_one(w)
        walls.append(time.perf_counter() - t)
    return statistics.median(walls) * 1e3, (time.process_time() - cpu0) / len(words) * 1e3


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--words", type=int, default=600)
    args = p.parse_args()
    settings = load_settings()
    source = resolve_model(settings, allow_download=False)
    if not isinstance(encoder_for(settings, source, threads=1), OnnxEncoder):  # exports if needed
        raise SystemExit("no trusted ONNX export could be made")
    cache = Path(settings.onnx_cache_dir or Path(settings.model_dir) / "onnx")
    model_path, tokenizer_path, _ = cache_paths(cache, source)
    lines = jieba_dict_path().read_text(encoding="utf-8").splitlines()
    words = [line.split()[0] for line in lines[:: max(1, len(lines) // args.words)]][: args.words]
    reference = TorchEncoder(source, threads=1)
    truth = reference.encode(words[:64])
    with tempfile.TemporaryDirectory() as tmp:
        exports = {"service export": model_path, "eager export": eager_export(reference, Path(tmp))}
        variants = {
            name: {
                "encoder": enc,
                "max_abs_delta_vs_torch": delta(enc, words[:64], truth),
                "p50_ms": [],
                "cpu_ms": [],
            }
            for name, enc in make_variants(source, exports, tokenizer_path)
        }
        batch = [line.split()[0] for line in lines[1 :: max(1, len(lines) // 3000)]]
        for _ in range(args.rounds):
            for v in variants.values():
                wall, cpu = one_word(v["encoder"], words)
                v["p50_ms"].append(wall)
                v["cpu_ms"].append(cpu)
                t = time.perf_counter()
                v["encoder"].encode(batch)
                v.setdefault("batch_words_per_s", []).append(len(batch) / (time.perf_counter() - t))
    emit(
        {
            name: {
                "p50_ms": statistics.median(v["p50_ms"]),
                "cpu_ms_per_word": statistics.median(v["cpu_ms"]),
                "rounds_p50_ms": v["p50_ms"],
                "max_abs_delta_vs_torch": v["max_abs_delta_vs_torch"],
                "batch_words_per_s": statistics.median(v["batch_words_per_s"]),
            }
            for name, v in variants.items()
        }
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
