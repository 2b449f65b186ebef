"""The service's pure parts with fast fakes (no model, no Milvus, no server): request
parsing, error rendering, the answer shape, the answer cache. The same behaviour over
real HTTP is in tests/integration/test_http.py and test_hostile_input.py."""

from __future__ import annotations

import asyncio
import json

import pytest
from sanic.exceptions import BadRequest, ServiceUnavailable

from config import load_settings
from fakes import FakeRequest, form, multipart
from wordsim.service import metrics
from wordsim.service.cache import AnswerCache
from wordsim.service.errors import UnsupportedMediaType, body_incomplete, error_body, render_error
from wordsim.service.params import normalize_text
from wordsim.service.query import Query, parse_query
from wordsim.service.render import RESULT_KEY, dumps, format_hits
from wordsim.store.schema import Hit

SETTINGS = load_settings(environ={})
UNIT = metrics.for_collection("unit")


# --- request parsing ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "request_",
    [
        form("usr_input=%E6%95%99%E5%B8%88"),
        form("", query="usr_input=%E6%95%99%E5%B8%88"),
        FakeRequest("usr_input=%E6%95%99%E5%B8%88", method="GET"),
        FakeRequest(body=json.dumps({"usr_input": "教师"}).encode(), content_type="application/json"),
        FakeRequest(body='{"usr_input": "教师"}'.encode(), content_type="application/problem+json"),
        multipart(usr_input="教师"),
        form("usr_input=%20%20%E6%95%99%E5%B8%88%E3%80%80"),  # padded with ASCII and ideographic spaces
    ],
    ids=["urlencoded", "query_post", "query_get", "json", "json_suffix", "multipart", "trimmed"],
)
def test_every_accepted_form_gives_the_same_query(request_):
    assert parse_query(request_, SETTINGS) == Query("教师", SETTINGS.default_top_k)


def test_top_k_from_string_or_json_number():
    assert parse_query(form("usr_input=a&top_k=7"), SETTINGS).top_k == 7
    body = json.dumps({"usr_input": "a", "top_k": 100}).encode()
    assert parse_query(FakeRequest(body=body, content_type="application/json"), SETTINGS).top_k == 100


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (form(""), "usr_input is required"),
        (form("usr_input=%20%20"), "usr_input is empty"),
        (form("usr_input=a%00b"), "U\\+0000, a control character"),
        (FakeRequest(body=b'{"usr_input": "\\ud800"}', content_type="application/json"), "U\\+D800, a lone"),
        (FakeRequest(body=b'{"usr_input": "\\udc00\\u6559"}', content_type="application/json"), "U\\+DC00"),
        (form("usr_input=%EE%80%80"), "U\\+E000, a private-use character"),
        (form("usr_input=%EF%B7%90"), "U\\+FDD0, a noncharacter"),
        (form("usr_input=%F0%9F%BF%BF"), "U\\+1FFFF, a noncharacter"),
        (form("usr_input=%E2%80%8B%E2%80%8C"), "only invisible format characters"),
        (form("usr_input=" + "字" * (SETTINGS.max_text_chars + 1)), "longer than"),
        (form("usr_input=a&usr_input=b"), "given 2 times"),
        (form("usr_input=a", query="usr_input=b"), "given 2 times"),
        (form("usr_input=a&top_k=0"), "top_k must be an integer"),
        (form("usr_input=a&top_k=%EF%BC%93"), "top_k must be an integer"),  # full-width 3
        (form("usr_input=%FF"), "not valid UTF-8"),
        (FakeRequest(body=b"[1]", content_type="application/json"), "must be an object"),
        (FakeRequest(body=b"{", content_type="application/json"), "not valid JSON"),
        (FakeRequest(body=b'{"usr_input": 5}', content_type="application/json"), "must be a string"),
        (FakeRequest(body=b'{"usr_input": "a", "top_k": true}', content_type="application/json"), "top_k"),
        (FakeRequest(body=b"x", content_type="multipart/form-data"), "without a boundary"),
    ],
)
def test_bad_input_is_a_400_that_says_what_is_wrong(request_, message):
    with pytest.raises(BadRequest, match=message):
        parse_query(request_, SETTINGS)


def test_format_characters_inside_visible_text_and_unassigned_code_points_are_accepted():
    assert parse_query(form("usr_input=%E6%95%99%E2%80%8B%E5%B8%88"), SETTINGS).text == "教\u200b师"
    unassigned = "\U0003134a"  # CJK Extension H (Unicode 15): unassigned in older databases
    assert parse_query(form(f"usr_input={unassigned}"), SETTINGS).text == unassigned


def test_unknown_content_type_is_415():
    with pytest.raises(UnsupportedMediaType):
        parse_query(FakeRequest(body=b"<a/>", content_type="application/xml"), SETTINGS)


def test_normalisation_is_nfkc_then_trim():
    assert normalize_text("  ＡＢＣ１２３\u3000") == "ABC123"


# --- errors ---------------------------------------------------------------------------------
def body_of(resp) -> dict:
    return json.loads(resp.body)


def test_error_body_is_the_one_shape():
    resp = error_body(404, "not found")
    assert resp.status == 404 and body_of(resp) == {"ok": False, "error": "not found", "status": 404}
    extra = body_of(error_body(503, "down", model="m", collection="words"))
    assert list(extra) == ["ok", "model", "collection", "error", "status"]


@pytest.mark.parametrize(
    ("exc", "status", "message"),
    [
        (BadRequest("usr_input is empty"), 400, "usr_input is empty"),
        (ServiceUnavailable("the vector database is unavailable"), 503, "the vector database is unavailable"),
        (RuntimeError("secret /path/to/file.py details"), 500, "internal error"),
    ],
)
def test_exceptions_render_as_json_errors_without_internals(exc, status, message):
    resp = asyncio.run(render_error(FakeRequest(), exc))
    assert resp.status == status and body_of(resp) == {"ok": False, "error": message, "status": status}


def test_a_stalled_body_is_the_clients_408_not_a_503():
    stalled = FakeRequest(body=b"usr_in", headers={"content-length": "100"})
    assert body_incomplete(stalled) and not body_incomplete(FakeRequest(body=b"x"))
    resp = asyncio.run(render_error(stalled, ServiceUnavailable("response timeout")))
    assert resp.status == 408


# --- answers --------------------------------------------------------------------------------
def test_answer_shape_and_unescaped_chinese():
    hits = [Hit(161872, 1.0000001, "教师"), Hit(161804, 0.93, "教学")]
    body = dumps(format_hits(hits))
    assert body == (
        '{"相似度计算的结果为：":{"结果1":{"id":161872,"distance":1.0000001,"fields":{"id":161872,"text":"教师"}},'
        '"结果2":{"id":161804,"distance":0.93,"fields":{"id":161804,"text":"教学"}}}}'
    )
    assert list(json.loads(body)) == [RESULT_KEY]


# --- cache ----------------------------------------------------------------------------------
def test_cache_is_a_bounded_lru():
    cache = AnswerCache(2, UNIT)
    cache.put("a", b"1")
    cache.put("b", b"2")
    assert cache.get("a") == b"1"  # "a" is now the most recent
    cache.put("c", b"3")
    assert cache.get("b") is None and cache.get("a") == b"1" and cache.get("c") == b"3" and len(cache) == 2


def test_cache_empties_when_the_collection_changes():
    cache = AnswerCache(10, UNIT)
    assert cache.observe((1, 100))
    cache.put("a", b"1")
    assert not cache.observe((1, 100)) and cache.get("a") == b"1"
    assert cache.observe((1, 101)) and cache.get("a") is None


def test_cache_of_size_zero_keeps_nothing():
    cache = AnswerCache(0, UNIT)
    cache.put("a", b"1")
    assert cache.get("a") is None


def test_cache_is_bounded_by_bytes_too():
    cache = AnswerCache(100, UNIT, max_bytes=10)
    cache.put("a", b"12345")
    cache.put("b", b"12345")
    cache.put("c", b"123")  # over 10 bytes: the least recent goes
    assert cache.get("a") is None and cache.get("b") == b"12345" and cache.bytes == 8
    cache.put("huge", b"x" * 11)  # larger than the whole cache: not kept, nothing evicted
    assert cache.get("huge") is None and len(cache) == 2
    cache.put("b", b"1")  # replaced: its old size is given back
    assert cache.bytes == 4
    cache.clear()
    assert cache.bytes == 0 and len(cache) == 0
