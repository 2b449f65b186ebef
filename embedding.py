"""Word vectors from a Chinese ALBERT: masked mean pooling, then L2 normalisation.

The encoder API to import::

    from config import load_settings
    from embedding import encoder_for, resolve_model

    settings = load_settings()
    encoder = encoder_for(settings, resolve_model(settings))
    vectors = encoder.encode(["教师", "教学"])          # (2, dim) float32, unit length
    float(vectors[0] @ vectors[1])                      # cosine similarity

    python embedding.py 教师 教学 任课教师               # the pairwise similarities

Pooling follows the original design exactly (``wordsim/model/pooling.py``): the hidden
states of every token the attention mask keeps, [CLS] and [SEP] included, padding
excluded, are averaged and scaled to unit length. ``TorchEncoder`` is the reference;
``load_encoder(..., backend="onnx")`` gives the same vectors (to 1e-5) from ONNX Runtime.
"""

from __future__ import annotations

import sys

from wordsim.model.base import MAX_TOKENS, BaseEncoder
from wordsim.model.loader import encoder_for, load_encoder
from wordsim.model.pooling import masked_mean_l2
from wordsim.model.source import ModelSource, resolve_model
from wordsim.model.torch_backend import TorchEncoder

__all__ = [
    "MAX_TOKENS",
    "BaseEncoder",
    "ModelSource",
    "TorchEncoder",
    "encoder_for",
    "load_encoder",
    "masked_mean_l2",
    "resolve_model",
]


def main(words: list[str]) -> int:
    from wordsim.settings import configure_logging, load_settings

    if len(words) < 2:
        print("usage: python embedding.py WORD WORD [WORD ...]", file=sys.stderr)
        return 2
    configure_logging()
    settings = load_settings()
    vectors = encoder_for(settings, resolve_model(settings)).encode(words)
    for i, a in enumerate(words):
        for j in range(i + 1, len(words)):
            print(f"{a}\t{words[j]}\t{float(vectors[i] @ vectors[j]):.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
