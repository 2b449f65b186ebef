"""/health, /livez and /readyz answer from the worker's memory, never from Milvus: called
directly with fakes whose every Milvus call would fail the test."""

from __future__ import annotations

import asyncio
import json
import time
from types import SimpleNamespace

from config import load_settings
from fakes import CountingStore, fake_served
from wordsim.service.health import health, livez, readyz
from wordsim.service.served import ServedCollection


def call(handler, served: ServedCollection, *others: ServedCollection):
    ctx = SimpleNamespace(
        settings=load_settings(environ={}), collections={c.name: c for c in (served, *others)}
    )
    resp = asyncio.run(handler(SimpleNamespace(app=SimpleNamespace(ctx=ctx))))
    return resp.status, json.loads(resp.body)


def fresh_status(rows: int = 10, source_rows: int = 10) -> ServedCollection:
    served = fake_served()
    served.rows, served.source_rows, served.loaded = rows, source_rows, True
    served.answered()
    return served


def test_health_answers_from_memory():
    assert call(health, fresh_status()) == (
        200,
        {
            "ok": True,
            "model": "m@sha256:1",
            "backend": "onnx",
            "standin": True,
            "collection": "words",
            "rows": 10,
            "source_rows": 10,
            "index": None,
            "collections": [
                {"name": "words", "kind": "bert", "model": "m@sha256:1", "rows": 10, "index": None}
            ],
        },
    )


def test_a_failure_after_the_last_answer_makes_health_and_readyz_503_and_livez_200():
    status = fresh_status()
    status.failed("connection refused")
    code, body = call(health, status)
    assert code == 503 and body["ok"] is False and body["error"] == "vector database unavailable"
    code, body = call(readyz, status)
    assert code == 503 and body["checks"]["milvus"] is False and "milvus" in body["error"]
    assert call(livez, status) == (200, {"ok": True})
    status.answered()  # a later check or search succeeded
    assert call(health, status)[0] == 200


def test_readyz_needs_a_loaded_and_complete_collection():
    assert call(readyz, fresh_status())[0] == 200
    code, body = call(readyz, fresh_status(rows=5, source_rows=10))
    assert code == 503 and body["error"] == "not ready: collection_complete"
    assert call(readyz, fake_served())[1]["checks"] == {
        "model": True,
        "milvus": False,
        "collection_loaded": False,
        "collection_complete": False,
    }


def test_refresh_recounts_only_when_the_collection_changed():
    store = CountingStore()
    status = fake_served(store, fingerprint="m")
    assert status.refresh() and status.rows == 10 and store.counts == 1
    before = status.ok_at
    time.sleep(0.001)
    assert not status.refresh() and store.counts == 1 and status.ok_at > before
    store.rows = 11
    assert status.refresh() and status.rows == 11 and status.complete()


def test_a_collection_switched_to_another_models_vectors_is_refused():
    store = CountingStore()
    status = fake_served(store, fingerprint="m")
    store.model = "other"
    status.refresh()
    assert "holds vectors of model other" in status.refusal
    code, body = call(health, status)
    assert code == 503 and "restart it with that model" in body["error"]
    assert call(readyz, status)[1]["checks"]["model"] is False


def test_index_progress_is_asked_while_it_builds_and_logged_once_built(caplog):
    store = CountingStore()
    status = fake_served(store, fingerprint="m")
    store.index = {"type": "HNSW", "state": "building", "indexed_rows": 0, "rows": 10}
    with caplog.at_level("INFO", logger="wordsim.server"):
        status.refresh()
        status.refresh()  # unchanged collection, index still building: asked again
        assert store.index_calls == 2 and status.index["state"] == "building"
        code, body = call(health, status)
        assert code == 200 and body["index"] == store.index
        store.index = {"type": "HNSW", "state": "built", "indexed_rows": 10, "rows": 10}
        status.refresh()
        status.refresh()  # built: not asked again until the collection changes
        assert store.index_calls == 3 and status.index["state"] == "built"
    lines = [r.getMessage() for r in caplog.records]
    assert sum("is building" in m for m in lines) == 1, lines
    assert sum("index of words built: HNSW serves all 10 rows" in m for m in lines) == 1, lines
    store.rows = 11  # rows written (or a rebuild switched): asked again
    status.refresh()
    assert store.index_calls == 4
