"""The server refuses to start on a collection it cannot serve, and says why."""

from __future__ import annotations

import subprocess
import sys

import pytest

from config import load_settings
from support import ROOT, base_env
from wordsim.store.bulk_load import WordLoader


def serve(env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "sanic_milvus.py")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def env(tmp_path, empty_model_dir):
    return base_env(
        WORDSIM_MILVUS_URI=str(tmp_path / "t.db"), WORDSIM_MODEL_DIR=str(empty_model_dir), WORDSIM_PORT="0"
    )


def test_refuses_collection_built_with_a_different_model(env):
    store = WordLoader.open(load_settings(environ=env))
    store.create(312, "clue/albert_chinese_tiny@sha256:1234abcd", 1)
    store.close()
    done = serve(env)
    assert done.returncode == 2
    assert "clue/albert_chinese_tiny@sha256:1234abcd" in done.stderr
    assert "ckiplab/albert-tiny-chinese" in done.stderr and "--drop" in done.stderr


def test_refuses_missing_collection_and_says_to_ingest(env):
    done = serve(env)
    assert done.returncode == 2 and "insert_data_to_milvus.py" in done.stderr


def test_locked_milvus_lite_database_is_reported_clearly(env):
    holder = WordLoader.open(load_settings(environ=env))  # this process holds the lock
    try:
        done = serve(env)
    finally:
        holder.close()
    assert done.returncode == 2
    assert "open in another process" in done.stderr


def test_refuses_collection_without_index_and_says_to_finish_the_load(env, encoder):
    store = WordLoader.open(load_settings(environ=env))
    store.create(encoder.dim, encoder.fingerprint, 1)
    store.close()
    done = serve(env)
    assert done.returncode == 2
    assert "no index yet" in done.stderr and "insert_data_to_milvus.py" in done.stderr
