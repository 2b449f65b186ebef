"""ONNX Runtime backend: the same vectors as torch (to 1e-5), several times faster per query.

On first use the torch model, with pooling and normalisation inside, is exported to
``<cache>/<weights hash>.onnx`` beside its tokenizer; it is trusted only after its vectors
match torch's on a sample of words (max |Δ| <= 1e-5), and the check is recorded in a
sidecar JSON. Later loads need neither torch nor transformers, so the server starts fast.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embedding import MAX_TOKENS, BaseEncoder, Encoder
from model_source import ModelSource, sha256_file

log = logging.getLogger("wordsim.onnx")

OPSET = 17
MAX_ABS_DELTA = 1e-5
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
VERIFY_SAMPLE = [
    "教师", "教学", "任课教师", "的", "䶮", "中华人民共和国", "自然语言处理", "北京大学生命科学学院",
    "AT&T", "B超", "c#", "机器学习", "人工智能技术", "一", "𠀀", "深度学习模型的训练方法",
    "ＡＢＣ", "123", "  空 格 ", "很长很长很长很长很长很长很长很长很长很长很长很长的短语",
]  # fmt: skip


class OnnxUnavailableError(RuntimeError):
    """No trusted ONNX model could be made; the caller falls back to torch."""


def cache_paths(cache_dir: Path, source: ModelSource) -> tuple[Path, Path, Path]:
    stem = f"{source.weights_sha256[:16]}-opset{OPSET}"
    return cache_dir / f"{stem}.onnx", cache_dir / f"{stem}.tokenizer.json", cache_dir / f"{stem}.json"


def export_and_verify(source: ModelSource, cache_dir: Path) -> None:
    """Export ``source`` to ONNX, check it against torch, and record the check."""
    import onnxruntime as ort
    import torch

    model_path, tok_path, meta_path = cache_paths(cache_dir, source)
    cache_dir.mkdir(parents=True, exist_ok=True)
    reference = Encoder(source, threads=0)
    feats = reference.tokenize(VERIFY_SAMPLE[:2])
    tmp = model_path.with_suffix(f".tmp{os.getpid()}")
    with warnings.catch_warnings():
        # The TorchScript exporter warns about every traced Python condition; the check
        # against torch below is what decides whether the export is right.
        warnings.simplefilter("ignore")
        _export(torch, reference, feats, tmp)
    reference.tokenizer.backend_tokenizer.save(str(tok_path))

    session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    candidate = OnnxEncoder(source, session, tok_path)
    words = VERIFY_SAMPLE + [w * 3 for w in VERIFY_SAMPLE[:8]]
    delta = float(np.abs(candidate.encode(words, batch_size=7) - reference.encode(words)).max())
    if delta > MAX_ABS_DELTA:
        tmp.unlink(missing_ok=True)
        raise OnnxUnavailableError(f"exported model differs from torch by {delta:.2e} > {MAX_ABS_DELTA}")
    os.replace(tmp, model_path)  # atomic: a crash never leaves a half-written model in place
    meta = {
        "model": source.fingerprint,
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


def _export(torch, reference: Encoder, feats: dict[str, np.ndarray], path: Path) -> None:
    torch.onnx.export(
        reference.pooled_module(),
        tuple(torch.from_numpy(feats[k]) for k in INPUTS),
        str(path),
        input_names=list(INPUTS),
        output_names=["embedding"],
        dynamic_axes={**{k: {0: "batch", 1: "seq"} for k in INPUTS}, "embedding": {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,  # the TorchScript exporter needs no extra package (onnxscript)
    )


def trusted(source: ModelSource, cache_dir: Path) -> bool:
    """A cached export exists for this model and is the one that passed the check."""
    model_path, tok_path, meta_path = cache_paths(cache_dir, source)
    if not (model_path.is_file() and tok_path.is_file() and meta_path.is_file()):
        return False
    try:
        meta = json.loads(meta_path.read_text())
    except ValueError:
        return False
    return (
        meta.get("model") == source.fingerprint
        and meta.get("onnx_sha256") == sha256_file(model_path)
        and meta.get("tokenizer_sha256") == sha256_file(tok_path)
        and meta.get("max_abs_delta_vs_torch", 1.0) <= MAX_ABS_DELTA
    )


class OnnxEncoder(BaseEncoder):
    """Tokenizer (``tokenizers``) + ONNX Runtime session computing pooled unit vectors."""

    backend = "onnx"

    def __init__(self, source: ModelSource, session, tokenizer_path: Path, batch_size: int = 256) -> None:
        from tokenizers import Tokenizer

        self.source = source
        self.session = session
        self.batch_size = batch_size
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        self.dim = int(session.get_outputs()[0].shape[-1] or 0) or self._probe_dim()

    def _probe_dim(self) -> int:
        return int(self._embed_batch(["的"]).shape[1])

    def tokenize(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        encs = self.tokenizer.encode_batch(list(texts))
        return {
            "input_ids": np.array([e.ids for e in encs], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encs], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encs], dtype=np.int64),
        }

    def _embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        return self.session.run(None, self.tokenize(texts))[0].astype(np.float32, copy=False)


def load_onnx_encoder(
    source: ModelSource, *, cache_dir: str | os.PathLike[str] | None, threads: int = 0, batch_size: int = 256
) -> OnnxEncoder:
    """The ONNX encoder for ``source``, exporting and verifying it first if needed."""
    try:
        import onnxruntime as ort
    except ImportError as exc:
        raise OnnxUnavailableError("onnxruntime is not installed") from exc
    folder = Path(cache_dir) if cache_dir else source.path / "onnx"
    if not trusted(source, folder):
        try:
            export_and_verify(source, folder)
        except OnnxUnavailableError:
            raise
        except Exception as exc:  # export can fail in many ways; torch stays the fallback
            raise OnnxUnavailableError(f"export failed: {exc}") from exc
    model_path, tok_path, _ = cache_paths(folder, source)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads if threads > 0 else (os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    return OnnxEncoder(source, session, tok_path, batch_size=batch_size)
