"""Export the torch model, pooling inside, to ONNX, and trust the file only once its vectors
match torch's.

The export goes to ``<cache>/<weights hash>-opset<N>.onnx`` beside its tokenizer; it is
trusted only after its vectors match torch's on a sample of words (max |Δ| <= 1e-5), and
the check is recorded in a sidecar JSON that later loads verify by hash.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

import numpy as np

from wordsim.model.onnx_backend import OnnxEncoder, open_session
from wordsim.model.source import ModelSource, sha256_file
from wordsim.model.torch_backend import TOKEN_INPUTS, TorchEncoder

log = logging.getLogger("wordsim.onnx")

OPSET = 17
MAX_ABS_DELTA = 1e-5
VERIFY_SAMPLE = [
    "教师", "教学", "任课教师", "的", "䶮", "中华人民共和国", "自然语言处理", "北京大学生命科学学院",
    "AT&T", "B超", "c#", "机器学习", "人工智能技术", "一", "𠀀", "深度学习模型的训练方法",
    "ＡＢＣ", "123", "  空 格 ", "很长很长很长很长很长很长很长很长很长很长很长很长的短语",
]  # fmt: skip


class OnnxUnavailableError(RuntimeError):
    """No trusted ONNX model could be made; the caller falls back to torch."""


def cache_paths(cache_dir: Path, source: ModelSource, pooling: str = "mean") -> tuple[Path, Path, Path]:
    """The ONNX model, its tokenizer and the record of its check, for ``source``."""
    stem = f"{source.weights_sha256[:16]}-opset{OPSET}" + ("" if pooling == "mean" else f"-{pooling}")
    return cache_dir / f"{stem}.onnx", cache_dir / f"{stem}.tokenizer.json", cache_dir / f"{stem}.json"


def export_and_verify(source: ModelSource, cache_dir: Path, pooling: str = "mean") -> None:
    """Export ``source`` (pooling inside) to ONNX, check it against torch, and record the check."""
    import onnxruntime as ort
    import torch

    model_path, tok_path, meta_path = cache_paths(cache_dir, source, pooling)
    cache_dir.mkdir(parents=True, exist_ok=True)
    reference = TorchEncoder(source, threads=0, pooling=pooling)
    feats = reference.tokenize(VERIFY_SAMPLE[:2])
    tmp = model_path.with_suffix(f".tmp{os.getpid()}")
    with warnings.catch_warnings():
        # The TorchScript exporter warns about every traced Python condition; the check
        # against torch below is what decides whether the export is right.
        warnings.simplefilter("ignore")
        _export(torch, reference, feats, tmp)
    reference.tokenizer.backend_tokenizer.save(str(tok_path))

    candidate = OnnxEncoder(source, open_session(tmp), tok_path)
    words = VERIFY_SAMPLE + [w * 3 for w in VERIFY_SAMPLE[:8]]
    delta = float(np.abs(candidate.encode(words, batch_size=7) - reference.encode(words)).max())
    if delta > MAX_ABS_DELTA:
        tmp.unlink(missing_ok=True)
        raise OnnxUnavailableError(f"exported model differs from torch by {delta:.2e} > {MAX_ABS_DELTA}")
    os.replace(tmp, model_path)  # atomic: a crash never leaves a half-written model in place
    meta = {
        "model": source.fingerprint,
        "pooling": pooling,
        "onnx_sha256": sha256_file(model_path),
        "tokenizer_sha256": sha256_file(tok_path),
        "max_abs_delta_vs_torch": delta,
        "sample_size": len(words),
        "torch": torch.__version__,
        "onnxruntime": ort.__version__,
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    log.info(
        "exported %s to %s; max |Δ| vs torch %.1e on %d words",
        source.fingerprint,
        model_path,
        delta,
        len(words),
    )


def _export(torch, reference: TorchEncoder, feats: dict[str, np.ndarray], path: Path) -> None:
    torch.onnx.export(
        reference.pooled_module(),
        tuple(torch.from_numpy(feats[k]) for k in TOKEN_INPUTS),
        str(path),
        input_names=list(TOKEN_INPUTS),
        output_names=["embedding"],
        dynamic_axes={**{k: {0: "batch", 1: "seq"} for k in TOKEN_INPUTS}, "embedding": {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,  # the TorchScript exporter needs no extra package (onnxscript)
    )


def trusted(source: ModelSource, cache_dir: Path, pooling: str = "mean") -> bool:
    """A cached export exists for this model and is the one that passed the check."""
    model_path, tok_path, meta_path = cache_paths(cache_dir, source, pooling)
    if not (model_path.is_file() and tok_path.is_file() and meta_path.is_file()):
        return False
    try:
        meta = json.loads(meta_path.read_text())
    except ValueError:
        return False
    return (
        meta.get("model") == source.fingerprint
        and meta.get("pooling", "mean") == pooling
        and meta.get("onnx_sha256") == sha256_file(model_path)
        and meta.get("tokenizer_sha256") == sha256_file(tok_path)
        and meta.get("max_abs_delta_vs_torch", 1.0) <= MAX_ABS_DELTA
    )
