"""Ingest: resumable after a kill, never duplicates, refuses a collection of another model."""

from __future__ import annotations

import signal
import subprocess
import sys
import uuid

import numpy as np
import pytest

from config import load_settings
from support import ROOT, base_env
from wordsim.store.bulk_load import WordLoader

N_WORDS = 6000


def ingest(env, *extra, **kw):
    cmd = [
        sys.executable,
        str(ROOT / "insert_data_to_milvus.py"),
        "--no-progress",
        f"--limit={N_WORDS}",
        *extra,
    ]
    return subprocess.Popen(
        cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw
    )


def kill_after_chunk(proc: subprocess.Popen, chunk: int) -> str:
    """SIGKILL ``proc`` as soon as it reports chunk number ``chunk`` written: a point in the
    load, not a moment in time, so the kill lands mid-load on any machine."""
    out = []
    for line in proc.stdout:
        out.append(line)
        if f"chunk {chunk} of " in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait()
    return "".join(out)


@pytest.fixture
def env(tmp_path, empty_model_dir):
    return base_env(WORDSIM_MILVUS_URI=str(tmp_path / "t.db"), WORDSIM_MODEL_DIR=str(empty_model_dir))


@pytest.fixture(params=["lite", pytest.param("server", marks=pytest.mark.milvus_server)])
def any_env(request, tmp_path, empty_model_dir):
    """A fresh collection on Milvus Lite, or on the local Milvus server."""
    if request.param == "lite":
        return request.getfixturevalue("env")
    milvus = request.getfixturevalue("local_milvus")
    return base_env(
        WORDSIM_MILVUS_URI=milvus.uri,
        WORDSIM_MODEL_DIR=str(empty_model_dir),
        WORDSIM_COLLECTION=f"kill_{uuid.uuid4().hex[:8]}",
    )


def open_store(env) -> WordLoader:
    store = WordLoader.open(load_settings(environ=env))
    if store.exists():
        store.ensure_loaded()
    return store


def test_killed_ingest_resumes_to_exact_rows_without_duplicates(any_env, encoder):
    env = any_env
    # 12 chunks of 500 words; each run is killed once it has written its 2nd (then 3rd) chunk
    # of what is left, while it encodes the next: some chunks written, some partly, some not.
    for chunk in (2, 3, 3):
        proc = ingest(env, "--chunk-size=500", "--batch-size=64")
        log = kill_after_chunk(proc, chunk)
        assert proc.returncode == -signal.SIGKILL and "rows, source:" not in log, log
    done = ingest(env, "--chunk-size=500")
    out, _ = done.communicate(timeout=300)
    assert done.returncode == 0, out
    assert f"{N_WORDS} rows, source: {N_WORDS} words -> OK" in out

    store = open_store(env)
    try:
        ids = store.ids_between(0, N_WORDS)
        assert len(ids) == N_WORDS and ids == list(range(N_WORDS))  # no duplicates, none missing
        rows = {}
        for start in range(0, N_WORDS, 1000):  # every row, in pages
            rows.update({r["id"]: r for r in store.fetch(list(range(start, min(start + 1000, N_WORDS))))})
        assert sorted(rows) == list(range(N_WORDS))
        fresh = encoder.encode([rows[i]["text"] for i in range(N_WORDS)])
        stored = np.array([rows[i]["vector"] for i in range(N_WORDS)], dtype=np.float32)
        assert np.abs(fresh - stored).max() <= 1e-5  # every vector equals a fresh encode
    finally:
        store.close()


def test_fresh_load_is_indexed_once_and_a_rerun_writes_nothing(env):
    first = ingest(env, "--limit=300")
    out, _ = first.communicate(timeout=300)
    assert first.returncode == 0, out
    # Inserted without an index, then compacted, indexed once and loaded.
    assert out.index("wrote 300 words") < out.index("building the index") < out.index("index of")
    assert "compacted, indexed and loaded" in out
    again = ingest(env, "--limit=300")
    out, _ = again.communicate(timeout=300)
    assert again.returncode == 0 and "0 of 300 words to write" in out, out


def test_ingest_refuses_collection_built_with_another_model(env, tmp_path):
    store = open_store(env)
    store.create(312, "some-other-model@sha256:0000", 10)
    store.close()
    proc = ingest(env, "--limit=50")
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 2, out
    assert "some-other-model" in out and "--drop" in out
    proc = ingest(env, "--limit=50", "--drop")
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0 and "50 rows, source: 50 words -> OK" in out, out


def test_bad_source_lines_are_reported_by_line_number_and_skipped(env, tmp_path):
    src = tmp_path / "words.txt"
    src.write_bytes(
        "教师 10 n\n\n".encode() + b"\xff\xfe\n" + ("长" * 100 + "\n").encode() + "教学\n".encode()
    )
    proc = ingest(env, f"--input={src}")
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert "3 bad lines skipped" in out
    assert "line 2: blank" in out and "line 3: not valid UTF-8" in out and "line 4: word longer" in out
    assert "2 rows, source: 2 words -> OK" in out
    store = open_store(env)
    try:
        assert store.ids_between(0, 10) == [0, 4]
    finally:
        store.close()


def test_rerun_indexes_and_completes_a_load_stopped_before_its_index(env, encoder):
    """A bulk load killed after some inserts leaves a collection without an index; the
    re-run indexes what is there, counts it, and writes only the rest."""
    from wordsim.ingest.wordlist import jieba_dict_path, read_words

    words = read_words(jieba_dict_path(), limit=300).words
    store = open_store(env)
    try:
        store.create(encoder.dim, encoder.fingerprint, len(words))
        first = words[:120]
        vectors = encoder.encode([w.text for w in first])
        store.write(
            [
                {"id": w.id, "text": w.text, "freq": w.freq, "pos": w.pos, "vector": v}
                for w, v in zip(first, vectors, strict=True)
            ],
            upsert=False,
        )
        assert not store.has_index()
    finally:
        store.close()
    proc = ingest(env, "--limit=300", "--chunk-size=100")
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    # Chunk 0-99 is complete, 100-199 partial (upserted whole), 200-299 absent.
    assert "has no index yet" in out and "200 of 300 words to write (2 chunks)" in out, out
    assert "300 rows, source: 300 words -> OK" in out
    store = open_store(env)
    try:
        assert store.has_index()
        assert store.ids_between(0, 1000) == list(range(300))
    finally:
        store.close()


def test_a_killed_rebuild_continues_and_then_switches(env):
    env = {**env, "WORDSIM_MILVUS_TIMEOUT_S": "1"}  # the wait before the old version is dropped
    first = ingest(env, "--limit=1500")
    out, _ = first.communicate(timeout=300)
    assert first.returncode == 0 and "collection words (words_v1): 1500 rows" in out, out
    killed = ingest(env, "--limit=2000", "--chunk-size=500", "--rebuild")
    log = kill_after_chunk(killed, 1)
    assert killed.returncode == -signal.SIGKILL, log
    assert "rebuilding words in words_v2; words_v1 keeps serving" in log
    store = open_store(env)
    try:
        assert store.count() == 1500  # the alias still serves the old version
    finally:
        store.close()
    again = ingest(env, "--limit=2000", "--chunk-size=500", "--rebuild")
    out, _ = again.communicate(timeout=300)
    assert again.returncode == 0, out
    assert "continuing the rebuild of words in words_v2" in out
    assert "collection words (words_v2): 2000 rows" in out
    assert "dropped words_v1, replaced by words_v2" in out
    store = open_store(env)
    try:
        assert store.count() == 2000 and store.client.list_collections() == ["words_v2"]
    finally:
        store.close()
