"""The refresh loop over every served collection, with fake stores: each collection is
refreshed on its own, a failure is recorded on its collection only, a change empties that
collection's answer cache and re-reads its calibration and model."""

from __future__ import annotations

import asyncio

from fakes import CountingStore, fake_served
from wordsim.service.lifecycle import refresh_all
from wordsim.store.calibration import Calibration


async def inline(fn):
    """Runs the blocking call in place: the fakes never block."""
    return fn()


def refresh(*collections) -> None:
    asyncio.run(refresh_all(collections, inline))


def test_every_collection_is_refreshed_and_a_failure_stays_on_its_own():
    up, down = CountingStore("words"), CountingStore("words_semantic")
    first, second = (
        fake_served(up, fingerprint="m"),
        fake_served(down, name="words_semantic", fingerprint="m"),
    )
    refresh(first, second)
    assert first.milvus_ok() and second.milvus_ok() and first.rows == second.rows == 10
    down.down = True
    refresh(first, second)
    assert first.milvus_ok() and first.loaded
    assert not second.milvus_ok() and not second.loaded and "milvus down" in second.error
    down.down = False
    refresh(first, second)
    assert second.milvus_ok() and second.loaded


def test_a_change_empties_only_that_collections_cache():
    changing, steady = CountingStore("words"), CountingStore("other")
    first, second = fake_served(changing, fingerprint="m"), fake_served(steady, name="other", fingerprint="m")
    refresh(first, second)
    first.cache.put("k", b"1")
    second.cache.put("k", b"2")
    refresh(first, second)
    assert first.cache.get("k") == b"1" and second.cache.get("k") == b"2"
    changing.rows = 11  # words written (or a rebuild switched the alias)
    refresh(first, second)
    assert first.cache.get("k") is None and second.cache.get("k") == b"2" and first.rows == 11


def test_a_rebuild_brings_its_calibration_and_a_model_check_to_every_collection(caplog):
    store = CountingStore("words_semantic")
    served = fake_served(store, name="words_semantic", fingerprint="m")
    refresh(served)
    assert served.calibration is None and not served.refusal
    store.calibration = Calibration(0.25, 0.0, 0.5, 100, 1)  # a --rebuild recorded a new one
    refresh(served)
    assert served.calibration == store.calibration
    store.model = "another"
    with caplog.at_level("ERROR", logger="wordsim.server"):
        refresh(served)
    assert "holds vectors of model another" in served.refusal
    assert any("holds vectors of model another" in r.getMessage() for r in caplog.records)
