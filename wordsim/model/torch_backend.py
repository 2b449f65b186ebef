"""The reference backend: transformers' ALBERT in torch, on the CPU."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from wordsim.model.base import MAX_TOKENS, BaseEncoder
from wordsim.model.pooling import masked_mean_l2
from wordsim.model.source import ModelSource

TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
"""The model's inputs, in the order the ONNX export declares them."""


class TorchEncoder(BaseEncoder):
    """BertTokenizer + AlbertModel, pooled by :func:`masked_mean_l2`."""

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
        return {k: enc[k].astype(np.int64) for k in TOKEN_INPUTS}

    def pooled_module(self):
        """The model with pooling and normalisation inside (what the ONNX export traces)."""
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
                return masked_mean_l2(hidden, attention_mask)

        return Pooled().eval()

    def _embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        torch = self._torch
        inputs = {k: torch.from_numpy(v) for k, v in self.tokenize(texts).items()}
        with torch.inference_mode():
            hidden = self.model(**inputs).last_hidden_state
            pooled = masked_mean_l2(hidden, inputs["attention_mask"])
        return pooled.numpy().astype(np.float32, copy=False)
