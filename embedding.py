"""Word vectors from a Chinese ALBERT: masked mean pooling, then L2 normalisation.

Pooling follows the original design exactly: hidden states of every token the
attention mask keeps ([CLS] and [SEP] included, padding excluded) are averaged, and the
result is scaled to unit length, so inner product equals cosine similarity.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence

import numpy as np

from config import Settings
from model_source import ModelSource

log = logging.getLogger("wordsim.encoder")

MAX_TOKENS = 64
"""Longest token sequence fed to the model; words are far shorter."""


def masked_mean_l2(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Mean of ``hidden`` over the tokens ``mask`` keeps, then unit length (float32)."""
    mask_f = mask[..., None].astype(np.float32)
    summed = (hidden * mask_f).sum(axis=1)
    pooled = summed / np.clip(mask_f.sum(axis=1), 1e-9, None)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


def length_sorted_batches(texts: Sequence[str], batch_size: int) -> Iterator[np.ndarray]:
    """Indices of ``texts`` in batches of similar length, so little padding is computed."""
    order = np.argsort([len(t) for t in texts], kind="stable")
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


class BaseEncoder:
    """Length-sorted batching and order restoration; backends embed one batch."""

    backend = "base"
    dim: int
    batch_size: int
    source: ModelSource

    @property
    def fingerprint(self) -> str:
        """Identity of the model (not of the backend: both give the same vectors)."""
        return self.source.fingerprint

    def _embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        raise NotImplementedError

    def encode(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """Unit vectors for ``texts``, shape (len(texts), dim), float32, in input order."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for idx in length_sorted_batches(texts, batch_size or self.batch_size):
            out[idx] = self._embed_batch([texts[i] for i in idx])
        return out

    def encode_one(self, text: str) -> np.ndarray:
        """Vector of a single text, shape (dim,)."""
        return self._embed_batch([text])[0]


class Encoder(BaseEncoder):
    """The reference backend: transformers' ALBERT in torch, on the CPU."""

    backend = "torch"

    def __init__(self, source: ModelSource, *, threads: int = 0, batch_size: int = 256) -> None:
        import torch
        import transformers
        from transformers import AlbertModel, BertTokenizer

        # The load report lists the unused masked-LM head as "UNEXPECTED": noise here.
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()

        self.source = source
        self.batch_size = batch_size
        if threads > 0:
            torch.set_num_threads(threads)
        self._torch = torch
        self.tokenizer = BertTokenizer.from_pretrained(str(source.path))
        # The pooler head is unused (we pool ourselves) and absent from some checkpoints.
        self.model = AlbertModel.from_pretrained(str(source.path), add_pooling_layer=False)
        self.model.eval()
        self.dim = int(self.model.config.hidden_size)

    def tokenize(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Token ids, attention mask and type ids, padded to the longest text."""
        enc = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=MAX_TOKENS,
            return_tensors="np",
        )
        return {k: enc[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}

    def pooled_module(self):
        """The model with pooling and normalisation inside, as exported to ONNX."""
        torch = self._torch
        model = self.model

        class Pooled(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask, token_type_ids):
                hidden = self.model(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, p=2, dim=1, eps=1e-12)

        return Pooled().eval()

    def _embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        torch = self._torch
        feats = self.tokenize(texts)
        with torch.inference_mode():
            inputs = {k: torch.from_numpy(v) for k, v in feats.items()}
            hidden = self.model(**inputs).last_hidden_state
            mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1, eps=1e-12)
        return pooled.numpy().astype(np.float32, copy=False)


def load_encoder(
    source: ModelSource,
    *,
    threads: int = 0,
    batch_size: int = 256,
    backend: str = "torch",
    cache_dir: str | os.PathLike[str] | None = None,
) -> BaseEncoder:
    """The encoder for ``source``: ``onnx`` (exported and verified on first use, torch as
    the fallback) or ``torch``."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    encoder: BaseEncoder | None = None
    if backend == "onnx":
        from onnx_encoder import OnnxUnavailableError, load_onnx_encoder

        try:
            encoder = load_onnx_encoder(source, cache_dir=cache_dir, threads=threads, batch_size=batch_size)
        except OnnxUnavailableError as exc:
            log.warning("ONNX encoder unavailable (%s); using torch", exc)
    if encoder is None:
        encoder = Encoder(source, threads=threads, batch_size=batch_size)
    log.info("encoder ready: %s (%s, dim %d)", source.fingerprint, encoder.backend, encoder.dim)
    return encoder


def encoder_for(settings: Settings, source: ModelSource, *, threads: int | None = None) -> BaseEncoder:
    """The encoder the settings ask for (backend, threads, batch size, ONNX cache)."""
    cache = settings.onnx_cache_dir or os.path.join(settings.model_dir, "onnx")
    return load_encoder(
        source,
        threads=settings.torch_threads if threads is None else threads,
        batch_size=settings.encode_batch_size,
        backend=settings.encoder_backend,
        cache_dir=cache,
    )
