"""Any BERT-family model: a tiny randomly initialised BERT of another width (48), made here,
loaded by AutoModel, pooled three ways, exported to ONNX, stored in and searched from a
real Milvus (Lite); the Simplified -> Traditional conversion."""

from __future__ import annotations

import numpy as np
import pytest

from config import load_settings
from wordsim.model.loader import load_encoder
from wordsim.model.source import describe_folder

CHARS = list("医生护士教师学生汽车卡车快乐幸福中国人大学老师醫師學車樂")
WORDS = ["医生", "护士", "教师", "学生", "汽车", "卡车", "快乐", "幸福", "中国人", "大学老师"]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    import torch
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny_bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *dict.fromkeys(CHARS)]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=48,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(folder)
    return describe_folder(folder, "test/tiny-bert")


@pytest.mark.parametrize("pooling", ["mean", "mean_no_special", "cls"])
def test_tiny_bert_of_another_width_pools_as_configured(tiny_bert, pooling, tmp_path):
    torch_enc = load_encoder(tiny_bert, backend="torch", pooling=pooling)
    assert torch_enc.dim == 48
    vectors = torch_enc.encode(WORDS)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert torch_enc.fingerprint.startswith("test/tiny-bert@sha256:")
    assert ("+pooling=" in torch_enc.fingerprint) == (pooling != "mean")
    onnx_enc = load_encoder(tiny_bert, backend="onnx", cache_dir=tmp_path, pooling=pooling)
    assert onnx_enc.backend == "onnx" and onnx_enc.fingerprint == torch_enc.fingerprint
    assert np.abs(onnx_enc.encode(WORDS) - vectors).max() <= 1e-5


def test_poolings_differ_as_documented(tiny_bert):
    import torch

    enc = load_encoder(tiny_bert, backend="torch", pooling="mean_no_special")
    feats = {k: torch.from_numpy(v) for k, v in enc.tokenize(["医生"]).items()}
    with torch.inference_mode():
        hidden = enc.model(**feats).last_hidden_state[0]
    inner = hidden[1:3].mean(dim=0)  # 医, 生: neither [CLS] nor [SEP]
    np.testing.assert_allclose(enc.encode_one("医生"), (inner / inner.norm()).numpy(), atol=1e-5)
    cls = load_encoder(tiny_bert, backend="torch", pooling="cls").encode_one("医生")
    np.testing.assert_allclose(cls, (hidden[0] / hidden[0].norm()).numpy(), atol=1e-5)


def test_traditional_conversion_reads_simplified_as_traditional(tiny_bert):
    plain = load_encoder(tiny_bert, backend="torch")
    converted = load_encoder(tiny_bert, backend="torch", to_traditional=True)
    assert converted.fingerprint == plain.fingerprint + "+s2t"
    np.testing.assert_allclose(converted.encode_one("医师"), plain.encode_one("醫師"), atol=1e-6)
    assert np.abs(converted.encode_one("医师") - plain.encode_one("医师")).max() > 1e-3


def test_tiny_bert_round_trips_through_milvus(tiny_bert, tmp_path):
    from wordsim.store.bulk_load import WordLoader

    enc = load_encoder(tiny_bert, backend="torch")
    settings = load_settings(environ={}, milvus_uri=str(tmp_path / "tiny.db"), collection="tiny")
    store = WordLoader.open(settings)
    try:
        store.create(enc.dim, enc.fingerprint, len(WORDS))
        vectors = enc.encode(WORDS)
        rows = [{"id": i, "text": w, "freq": 0, "pos": "", "vector": vectors[i]} for i, w in enumerate(WORDS)]
        store.write(rows, upsert=False)
        store.flush()
        store.merge_index_load()
        store.check_model(enc.fingerprint)
        for i, word in enumerate(WORDS):
            top = store.search(enc.encode_one(word), 1)[0]
            assert (top.id, top.text) == (i, word)
            assert top.distance == pytest.approx(1.0, abs=1e-5)
    finally:
        store.close()
