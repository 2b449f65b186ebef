"""CORS against a real server (Milvus Lite): preflight from an allowed and a refused
origin, actual GET/POST with an Origin, and no CORS header at all by default. The parsing
of WORDSIM_CORS_ORIGINS is in tests/unit/test_cors.py."""

from __future__ import annotations

import httpx
import pytest

from support import run_ingest_process, start_server, stop_server

ALLOWED, OTHER, REFUSED = "http://localhost:5173", "https://app.example.com", "https://evil.example"
KEY = "cors-test-key"


@pytest.fixture(scope="module")
def small_db_env(lite_env, tmp_path_factory):
    env = {**lite_env, "WORDSIM_MILVUS_URI": str(tmp_path_factory.mktemp("cors") / "cors.db")}
    done = run_ingest_process(env, "--limit=1000")
    assert done.returncode == 0, done.stderr[-2000:]
    return env


@pytest.fixture(scope="module")
def cors_server(small_db_env, tmp_path_factory):
    env = {**small_db_env, "WORDSIM_CORS_ORIGINS": f"{ALLOWED},{OTHER}", "WORDSIM_API_KEY": KEY}
    server = start_server(env, tmp_path_factory.mktemp("cors_log") / "server.log")
    yield server
    stop_server(server)


def preflight(server, origin: str, method: str = "POST", path: str = "/vector_similarity") -> httpx.Response:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type,x-api-key",
    }
    return httpx.options(server.url + path, headers=headers, timeout=30)


def cors_headers(resp: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in resp.headers.items() if k.startswith("access-control-")}


@pytest.mark.parametrize("origin", [ALLOWED, OTHER])
def test_preflight_from_an_allowed_origin_needs_no_key(cors_server, origin):
    resp = preflight(cors_server, origin)
    assert resp.status_code == 204, resp.text
    assert resp.headers["access-control-allow-origin"] == origin
    assert {"GET", "POST", "DELETE"} <= {
        m.strip() for m in resp.headers["access-control-allow-methods"].split(",")
    }
    allowed_headers = {h.strip().lower() for h in resp.headers["access-control-allow-headers"].split(",")}
    assert {"content-type", "x-api-key"} <= allowed_headers
    assert resp.headers["vary"] == "Origin"


def test_preflight_for_word_management(cors_server):
    resp = preflight(cors_server, ALLOWED, method="DELETE", path="/words/1000000001")
    assert resp.status_code == 204 and resp.headers["access-control-allow-origin"] == ALLOWED


def test_preflight_from_a_refused_origin_gets_403_and_no_cors_header(cors_server):
    resp = preflight(cors_server, REFUSED)
    assert resp.status_code == 403
    assert resp.json() == {"ok": False, "error": "origin not allowed by WORDSIM_CORS_ORIGINS", "status": 403}
    assert cors_headers(resp) == {}


def test_actual_requests_carry_the_origin_header_for_allowed_origins_only(cors_server):
    url, key = cors_server.url + "/vector_similarity", {"X-API-Key": KEY}
    post = httpx.post(url, data={"usr_input": "一"}, headers={**key, "Origin": ALLOWED}, timeout=30)
    get = httpx.get(url, params={"usr_input": "一"}, headers={**key, "Origin": OTHER}, timeout=30)
    assert post.status_code == get.status_code == 200
    assert post.headers["access-control-allow-origin"] == ALLOWED and post.headers["vary"] == "Origin"
    assert get.headers["access-control-allow-origin"] == OTHER
    # An error is readable by the allowed page too (here: no API key).
    denied = httpx.post(url, data={"usr_input": "一"}, headers={"Origin": ALLOWED}, timeout=30)
    assert denied.status_code == 401 and denied.headers["access-control-allow-origin"] == ALLOWED
    refused = httpx.post(url, data={"usr_input": "一"}, headers={**key, "Origin": REFUSED}, timeout=30)
    assert refused.status_code == 200 and cors_headers(refused) == {}
    assert refused.content == post.content  # served as usual; the browser withholds it


def test_no_cors_headers_by_default(lite_server):
    resp = preflight(lite_server, ALLOWED)
    assert cors_headers(resp) == {}
    post = httpx.post(
        lite_server.url + "/vector_similarity",
        data={"usr_input": "一"},
        headers={"Origin": ALLOWED},
        timeout=30,
    )
    assert post.status_code == 200 and cors_headers(post) == {}
