"""The encoder: pooling exactly as the original design, batch-independence, unit norm."""

from __future__ import annotations

import numpy as np
import torch

from embedding import masked_mean_l2

MIXED = ["教师", "中华人民共和国", "的", "任课教师", "自然语言处理技术", "䶮", "教学", "北京大学生命科学学院"]


def original_design(encoder, batch_texts):
    """The original service's code, copied literally from its design document."""
    tokenizer, model = encoder.tokenizer, encoder.model
    encoded_texts = tokenizer(batch_texts, return_tensors="pt", padding=True)
    with torch.no_grad():
        last_hidden_state = model(**encoded_texts).last_hidden_state
        attention_mask = encoded_texts["attention_mask"]
        last_hidden_state = last_hidden_state * attention_mask.unsqueeze(-1)
        sum_hidden_state = last_hidden_state.sum(dim=1).squeeze()
        output = sum_hidden_state / attention_mask.sum(dim=1, keepdim=True)
        output = output.numpy()
    output = output / np.linalg.norm(output, axis=1, keepdims=True)
    return output


def test_pooling_equals_original_formula_on_mixed_lengths(encoder):
    expected = original_design(encoder, MIXED)
    got = encoder.encode(MIXED, batch_size=3)  # sorted batching, then order restored
    assert got.dtype == np.float32 and got.shape == (len(MIXED), 312)
    assert np.abs(got - expected).max() <= 1e-6


def test_padding_is_excluded_not_averaged(encoder):
    """A plain .mean() over padded tokens differs: the mask must matter."""
    enc = encoder.tokenizer(MIXED, return_tensors="pt", padding=True)
    with torch.no_grad():
        naive = encoder.model(**enc).last_hidden_state.mean(dim=1).numpy()
    naive /= np.linalg.norm(naive, axis=1, keepdims=True)
    short = MIXED.index("的")
    assert np.abs(naive[short] - encoder.encode(["的"])[0]).max() > 1e-3


def test_word_alone_equals_word_in_batch_of_longer_words(encoder):
    alone = encoder.encode_one("教师")
    in_batch = encoder.encode(["北京大学生命科学学院", "教师", "自然语言处理技术"])[1]
    assert np.abs(alone - in_batch).max() <= 1e-5


def test_unit_norm_and_order(encoder):
    vecs = encoder.encode(MIXED)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    for i, text in enumerate(MIXED):
        assert np.abs(vecs[i] - encoder.encode_one(text)).max() <= 1e-5


def test_pooling_function_matches_the_encoder(encoder):
    feats = {k: torch.from_numpy(v) for k, v in encoder.tokenize(MIXED).items()}
    with torch.no_grad():
        hidden = encoder.model(**feats).last_hidden_state
        pooled = masked_mean_l2(hidden, feats["attention_mask"]).numpy()
    assert np.abs(pooled - encoder.encode(MIXED)).max() <= 1e-6


def test_rare_characters_tie_as_unk(encoder):
    a, b = encoder.encode(["䶮", "䲜"])
    assert np.abs(a - b).max() <= 1e-6
