"""ONNX Runtime backend: runs a verified export (``onnx_export``); needs neither torch nor
transformers, so a server whose export is cached starts fast."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from wordsim.model.base import MAX_TOKENS, BaseEncoder
from wordsim.model.source import ModelSource


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


def open_session(model_path: Path, threads: int = 0, spinning: bool = False):
    """An inference session on the CPU; ``threads`` 0 = one per core."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads if threads > 0 else (os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    # Spinning keeps idle intra-op threads busy-waiting for the next operator: on cores
    # shared with Milvus (the ingest's inserts, the server's searches) that CPU is taken
    # from Milvus, and batches encode no faster for it (bench/RESULTS.md, encoder variants).
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    # Where spinning is on, threads would go on spinning between runs too (a core busy for
    # nothing while the caller waits for Milvus): they stop as soon as a run returns.
    options.add_session_config_entry("session.force_spinning_stop", "1")
    return ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
