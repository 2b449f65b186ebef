"""Pooling of token states into one unit vector, written once: the torch backend calls it,
and the ONNX export traces it.

``mean`` (the original design, the default): the hidden states of every token the
attention mask keeps, [CLS] and [SEP] included, padding excluded, are averaged, then
scaled to unit length, so inner product equals cosine similarity. ``mean_no_special``:
the same without the first and the last kept token ([CLS], [SEP]). ``cls``: the first
token's state (models trained for it, such as bge), scaled to unit length.
"""

from __future__ import annotations

POOLINGS = ("mean", "mean_no_special", "cls")


def masked_mean_l2(hidden, attention_mask):
    """(batch, tokens, dim) torch states and a (batch, tokens) mask -> (batch, dim) unit vectors."""
    import torch

    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, p=2, dim=1, eps=1e-12)


def pool_l2(hidden, attention_mask, pooling: str = "mean"):
    """Unit vectors of a batch by ``pooling`` (one of :data:`POOLINGS`)."""
    import torch

    if pooling == "mean":
        return masked_mean_l2(hidden, attention_mask)
    if pooling == "cls":
        return torch.nn.functional.normalize(hidden[:, 0], p=2, dim=1, eps=1e-12)
    if pooling == "mean_no_special":
        positions = torch.arange(attention_mask.shape[1], device=attention_mask.device).unsqueeze(0)
        last = attention_mask.sum(dim=1, keepdim=True) - 1
        inner = (
            attention_mask
            * (positions > 0).to(attention_mask.dtype)
            * (positions < last).to(attention_mask.dtype)
        )
        return masked_mean_l2(hidden, inner)
    raise ValueError(f"unknown pooling {pooling!r}; one of {', '.join(POOLINGS)}")
