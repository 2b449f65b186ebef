"""Pick and load an encoder: ONNX Runtime (exported and verified on first use) with torch
as the fallback, or torch alone."""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

from wordsim.model.base import BaseEncoder, traditional_converter
from wordsim.model.source import ModelSource
from wordsim.settings import Settings

log = logging.getLogger("wordsim.encoder")

BACKENDS = ("onnx", "torch")


def load_onnx_encoder(
    source: ModelSource,
    *,
    cache_dir: str | os.PathLike[str] | None,
    threads: int = 0,
    batch_size: int = 256,
    pooling: str = "mean",
):
    """The ONNX encoder for ``source``, exporting and verifying it first if needed."""
    # The export module imports torch only inside its functions, so a cached, trusted
    # export loads without torch.
    from wordsim.model import onnx_export
    from wordsim.model.onnx_backend import OnnxEncoder, open_session

    if importlib.util.find_spec("onnxruntime") is None:
        raise onnx_export.OnnxUnavailableError("onnxruntime is not installed")
    folder = Path(cache_dir) if cache_dir else source.path / "onnx"
    if not onnx_export.trusted(source, folder, pooling):
        try:
            onnx_export.export_and_verify(source, folder, pooling)
        except onnx_export.OnnxUnavailableError:
            raise
        except Exception as exc:  # export can fail in many ways; torch stays the fallback
            raise onnx_export.OnnxUnavailableError(f"export failed: {exc}") from exc
    model_path, tok_path, _ = onnx_export.cache_paths(folder, source, pooling)
    encoder = OnnxEncoder(source, open_session(model_path, threads), tok_path, batch_size=batch_size)
    encoder.pooling = pooling
    return encoder


def load_encoder(
    source: ModelSource,
    *,
    threads: int = 0,
    batch_size: int = 256,
    backend: str = "torch",
    cache_dir: str | os.PathLike[str] | None = None,
    pooling: str = "mean",
    to_traditional: bool = False,
) -> BaseEncoder:
    """The encoder for ``source``: ``onnx`` (torch as the fallback) or ``torch``; ``pooling``
    one of ``pooling.POOLINGS``; ``to_traditional`` converts input to Traditional first."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    encoder: BaseEncoder | None = None
    if backend == "onnx":
        from wordsim.model.onnx_export import OnnxUnavailableError

        try:
            encoder = load_onnx_encoder(
                source, cache_dir=cache_dir, threads=threads, batch_size=batch_size, pooling=pooling
            )
        except OnnxUnavailableError as exc:
            log.warning("ONNX encoder unavailable (%s); using torch", exc)
    if encoder is None:
        from wordsim.model.torch_backend import TorchEncoder

        encoder = TorchEncoder(source, threads=threads, batch_size=batch_size, pooling=pooling)
    if to_traditional:
        encoder.convert = traditional_converter()
    log.info("encoder ready: %s (%s, dim %d)", encoder.fingerprint, encoder.backend, encoder.dim)
    return encoder


def encoder_for(settings: Settings, source: ModelSource, *, threads: int | None = None) -> BaseEncoder:
    """The encoder the settings ask for (backend, threads, batch size, ONNX cache)."""
    cache = settings.onnx_cache_dir or os.path.join(settings.model_dir, "onnx")
    return load_encoder(
        source,
        threads=settings.encoder_threads if threads is None else threads,
        batch_size=settings.encode_batch_size,
        backend=settings.encoder_backend,
        cache_dir=cache,
        pooling=settings.pooling,
        to_traditional=settings.to_traditional,
    )
