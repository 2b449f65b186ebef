"""The reference backend: any BERT-family model of transformers (the original design's
ALBERT by default) in torch, on the CPU."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wordsim.model.base import MAX_TOKENS, BaseEncoder
from wordsim.model.pooling import pool_l2
from wordsim.model.source import ModelSource

TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
"""The model's inputs, in the order the ONNX export declares them."""


def load_tokenizer(folder: str):
    """The folder's tokenizer. Chinese BERT-family checkpoints (the ALBERTs included) use
    BERT's WordPiece ``vocab.txt`` without naming a tokenizer class, where AutoTokenizer
    would pick the architecture's own (ALBERT's sentencepiece, absent): BertTokenizer then."""
    import json
    from pathlib import Path

    from transformers import AutoTokenizer, BertTokenizer

    config = Path(folder) / "tokenizer_config.json"
    named = config.is_file() and json.loads(config.read_text()).get("tokenizer_class")
    if not named and (Path(folder) / "vocab.txt").is_file():
        return BertTokenizer.from_pretrained(folder)
    return AutoTokenizer.from_pretrained(folder)


def load_model(folder: str):
    """AutoModel without the pooler head (we pool ourselves; some checkpoints lack it)."""
    from transformers import AutoModel

    try:
        return AutoModel.from_pretrained(folder, add_pooling_layer=False)
    except TypeError:  # an architecture without a pooler head
        return AutoModel.from_pretrained(folder)


class TorchEncoder(BaseEncoder):
    """Tokenizer + AutoModel, pooled by :func:`pool_l2`."""

    backend = "torch"

    def __init__(
        self, source: ModelSource, *, threads: int = 0, batch_size: int = 256, pooling: str = "mean"
    ) -> None:
        import torch
        import transformers

        # The load report lists the unused masked-LM head as "UNEXPECTED": noise here.
        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()

        self.source = source
        self.batch_size = batch_size
        if threads > 0:
            torch.set_num_threads(threads)
        self._torch = torch
        self.pooling = pooling
        self.tokenizer = load_tokenizer(str(source.path))
        self.model = load_model(str(source.path))
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
        return {k: enc[k].astype(np.int64) for k in TOKEN_INPUTS}

    def pooled_module(self):
        """The model with pooling and normalisation inside (what the ONNX export traces)."""
        torch = self._torch
        model, pooling = self.model, self.pooling

        class Pooled(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask, token_type_ids):
                hidden = self.model(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state
                return pool_l2(hidden, attention_mask, pooling)

        return Pooled().eval()

    def _embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        torch = self._torch
        inputs = {k: torch.from_numpy(v) for k, v in self.tokenize(texts).items()}
        with torch.inference_mode():
            hidden = self.model(**inputs).last_hidden_state
            pooled = pool_l2(hidden, inputs["attention_mask"], self.pooling)
        return pooled.numpy().astype(np.float32, copy=False)
