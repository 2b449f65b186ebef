"""The ONNX backend: same vectors as torch, verified before trusted, torch as the fallback."""

from __future__ import annotations

import logging
import subprocess
import sys

import numpy as np
import pytest

from embedding import load_encoder
from support import ROOT
from wordsim.model import onnx_export
from wordsim.model.loader import load_onnx_encoder
from wordsim.model.onnx_export import cache_paths, trusted


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(scope="module")
def onnx_enc(model, onnx_dir):
    return load_onnx_encoder(model, cache_dir=onnx_dir, threads=2)


def test_onnx_vectors_equal_torch_on_dictionary_words(onnx_enc, encoder, subset_words):
    words = [w.text for w in subset_words[::5]] + ["自然语言处理技术", "ＡＢＣ", "教 师"]
    got = onnx_enc.encode(words, batch_size=64)
    assert got.dtype == np.float32 and got.shape == (len(words), encoder.dim)
    assert np.abs(got - encoder.encode(words)).max() <= 1e-5
    assert np.abs(onnx_enc.encode_one("教师") - encoder.encode_one("教师")).max() <= 1e-5


def test_onnx_tokenizer_matches_transformers(onnx_enc, encoder, subset_words):
    words = [w.text for w in subset_words[:300]] + ["AT&T", "c#", "Ｂ超", "𠀀"]
    for key, value in encoder.tokenize(words).items():
        np.testing.assert_array_equal(onnx_enc.tokenize(words)[key], value)


def test_export_is_recorded_and_a_tampered_file_is_not_trusted(model, onnx_enc, onnx_dir):
    model_path, _, meta_path = cache_paths(onnx_dir, model)
    assert trusted(model, onnx_dir) and "max_abs_delta_vs_torch" in meta_path.read_text()
    original = model_path.read_bytes()
    model_path.write_bytes(original[:-10] + b"0" * 10)
    try:
        assert not trusted(model, onnx_dir)
    finally:
        model_path.write_bytes(original)
    assert trusted(model, onnx_dir)


def test_cached_export_loads_without_torch(model, onnx_enc, onnx_dir):
    code = (
        "import sys;"
        "from wordsim.model.source import describe_folder;"
        "from wordsim.model.loader import load_onnx_encoder;"
        f"src = describe_folder(__import__('pathlib').Path({str(model.path)!r}), {model.name!r}, True);"
        f"e = load_onnx_encoder(src, cache_dir={str(onnx_dir)!r});"
        "print(e.encode_one('教师')[:3], 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("False")


def test_failed_export_falls_back_to_torch(model, tmp_path, monkeypatch, caplog):
    def broken(*_a, **_k):
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(onnx_export, "export_and_verify", broken)
    with caplog.at_level(logging.WARNING, logger="wordsim.encoder"):
        enc = load_encoder(model, backend="onnx", cache_dir=tmp_path)
    assert enc.backend == "torch"
    assert any("exporter exploded" in r.getMessage() for r in caplog.records)


def test_export_that_disagrees_with_torch_is_refused(model, tmp_path, monkeypatch):
    monkeypatch.setattr(onnx_export, "MAX_ABS_DELTA", 0.0)  # nothing can pass
    with pytest.raises(onnx_export.OnnxUnavailableError, match="differs from torch"):
        load_onnx_encoder(model, cache_dir=tmp_path)
    assert not list(tmp_path.glob("*.onnx"))
