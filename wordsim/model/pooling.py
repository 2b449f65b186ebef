"""Masked mean pooling and L2 normalisation: the original design's word vector.

Hidden states of every token the attention mask keeps ([CLS] and [SEP] included, padding
excluded) are averaged, then scaled to unit length, so inner product equals cosine
similarity. Written once: the torch backend calls it, and the ONNX export traces it.
"""

from __future__ import annotations


def masked_mean_l2(hidden, attention_mask):
    """(batch, tokens, dim) torch states and a (batch, tokens) mask -> (batch, dim) unit vectors."""
    import torch

    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1, eps=1e-12)
