"""/compare and /vector_similarity over fakes: /compare goes through the collection's
batcher and answer cache, and both refuse a collection that now holds another model's
vectors while the other collections keep answering."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
from sanic.exceptions import ServiceUnavailable

from config import load_settings
from fakes import FakeBackends, FakeEncoder, FakeRequest, form
from wordsim.service.admission import Admission
from wordsim.service.compare import compare
from wordsim.service.lifecycle import serve
from wordsim.service.similarity import vector_similarity

SETTINGS = load_settings(environ={})


def call(handler, request, backends: FakeBackends, refused: str = ""):
    """``handler(request)`` against two served collections, ``words`` and ``other``, over
    ``backends``; ``refused`` names one holding another model's vectors."""
    backends.gate.set()

    async def main():
        with ThreadPoolExecutor(1) as pool:
            encoder = FakeEncoder()
            encoder.encode = lambda texts: backends.encode(texts)[0]
            store = SimpleNamespace(name="words", search_many=backends.search)
            ctx = SimpleNamespace(
                settings=SETTINGS,
                admission=Admission(8, 1, 8),
                collections={
                    name: serve(SETTINGS, pool, name, "bert", encoder, store, owned=False)
                    for name in ("words", "other")
                },
            )
            if refused:
                ctx.collections[refused].refusal = f"collection {refused} now holds vectors of model x"
            request.app = SimpleNamespace(ctx=ctx)
            responses = [await handler(request)]
            responses.append(await handler(request))  # the same request again
            return [json.loads(r.body) for r in responses], ctx

    return asyncio.run(main())


def test_compare_encodes_through_the_batcher_and_answers_again_from_the_cache():
    backends = FakeBackends()
    (first, again), ctx = call(compare, form("a=ab&b=abc"), backends)
    assert first == again == {"a": "ab", "b": "abc", "distance": 6.0}  # fake vectors [2] and [3]
    # Each text encoded once (the two gathered queries may share a batch or not), no search.
    assert sorted(t for call in backends.encode_calls for t in call) == ["ab", "abc"]
    assert backends.search_calls == []
    assert ctx.collections["words"].cache.hits == 1


def test_compare_refuses_where_similarity_refuses_and_only_that_collection():
    for handler, body in ((compare, "a=ab&b=abc"), (vector_similarity, "usr_input=ab")):
        with pytest.raises(ServiceUnavailable, match="holds vectors of model x"):
            call(handler, form(body + "&collection=other"), FakeBackends(), refused="other")
        (answer, _), _ = call(handler, form(body), FakeBackends(), refused="other")
        assert "ok" not in answer  # the default collection answers
    with pytest.raises(ServiceUnavailable):
        call(vector_similarity, form("usr_input=ab"), FakeBackends(), refused="words")


def bulk_flags(request) -> list[bool]:
    """The ``bulk`` flag of every vector /compare asks its collection's batcher for."""
    flags: list[bool] = []

    async def recording_compare(req):
        for served in req.app.ctx.collections.values():
            ask = served.batcher.vector

            async def recorded(text, *, bulk=False, ask=ask):
                flags.append(bulk)
                return await ask(text, bulk=bulk)

            served.batcher.vector = recorded
        return await compare(req)

    call(recording_compare, request, FakeBackends())
    return flags


def test_the_texts_of_a_compare_of_several_pairs_wait_behind_single_queries():
    many = json.dumps({"pairs": [["ab", "abc"], ["ab", "abcd"]]}).encode()
    assert set(bulk_flags(FakeRequest(body=many, content_type="application/json"))) == {True}
    assert set(bulk_flags(form("a=ab&b=abc"))) == {False}
