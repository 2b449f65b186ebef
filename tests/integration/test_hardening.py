"""A hostile client against a real server with an API key and small limits: each case is
answered the right way, no 5xx, no readiness change, bounded metrics, bounded connections.
(The same floods at full size, with the ordinary queries' latency under each, are a bench
phase: bench/phases/hostile.py.)"""

from __future__ import annotations

import concurrent.futures
import json
import socket

import httpx
import pytest

from support import metric_samples, run_ingest_process, serving

KEY = "hardening-key"
CAP = 200
"""The server's connection cap in these tests."""


@pytest.fixture(scope="module")
def guarded(lite_env, tmp_path_factory):
    folder = tmp_path_factory.mktemp("guarded")
    env = {
        **lite_env,
        "WORDSIM_MILVUS_URI": str(folder / "guarded.db"),
        "WORDSIM_API_KEY": KEY,
        "WORDSIM_REQUEST_TIMEOUT_S": "2",
        "WORDSIM_KEEP_ALIVE_TIMEOUT_S": "1",
        "WORDSIM_MAX_CONNECTIONS": str(CAP),
        "WORDSIM_MAX_CLIENT_REQUESTS": "2",
        "WORDSIM_ANSWER_CACHE_SIZE": "0",
    }
    done = run_ingest_process(env, "--limit=600")
    assert done.returncode == 0, done.stderr[-2000:]
    with serving(env, folder / "server.log") as server:
        yield server


def raw(server, data: bytes, timeout: float = 10) -> bytes:
    """Send ``data`` on one connection; read one whole answer, or until the server closes
    the connection (or ``timeout``)."""
    port = int(server.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while not _complete(out) and (chunk := s.recv(65536)):
                out += chunk
        except TimeoutError:
            pass
    return out


def _complete(answer: bytes) -> bool:
    head, sep, body = answer.partition(b"\r\n\r\n")
    lengths = [
        line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    ]
    return bool(sep) and bool(lengths) and len(body) >= int(lengths[0])


def statuses(answer: bytes) -> list[int]:
    return [int(line.split()[1]) for line in answer.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]


def body_of(answer: bytes) -> dict:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])


def post(server, path: str, **kwargs) -> httpx.Response:
    return httpx.post(server.url + path, headers={"X-API-Key": KEY}, timeout=60, **kwargs)


def ready(server) -> int:
    return httpx.get(server.url + "/readyz", timeout=10).status_code


def scrape(server) -> dict:
    return metric_samples(httpx.get(server.url + "/metrics", timeout=30).text)


def test_a_bad_integer_is_the_clients_400_and_never_an_outage(guarded):
    errors_before = sum(v for (n, _), v in scrape(guarded).items() if n == "wordsim_milvus_errors_total")
    for value in ("9223372036854775808", "-1", "1" + "0" * 30):
        resp = post(guarded, "/vector_similarity", data={"usr_input": "一", "min_freq": value})
        assert resp.status_code == 400 and "min_freq" in resp.json()["error"], resp.text
        assert ready(guarded) == 200
    assert (
        post(guarded, "/vector_similarity", data={"usr_input": "一", "min_freq": str(2**63 - 1)}).status_code
        == 200
    )
    errors_after = sum(v for (n, _), v in scrape(guarded).items() if n == "wordsim_milvus_errors_total")
    assert errors_after == errors_before


def test_made_up_methods_are_refused_and_add_no_metric_series(guarded):
    def series() -> int:
        return sum(1 for (n, _) in scrape(guarded) if n == "wordsim_requests_total")

    for method in ("FOO", "get", "M" * 7000):  # warm: the first of each status label may add one
        raw(guarded, f"{method} /health HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    before = series()
    for i in range(200):
        answer = raw(guarded, f"X{i}Y /vector_similarity HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        assert statuses(answer) == [405], answer[:200]
    assert series() == before


@pytest.mark.parametrize(
    "head",
    [
        b"GET /vector_similarity?usr_input=" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20000 + b"\r\n",
        b"POST /vector_similarity HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n",
        b"POST /vector_similarity HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n",
    ],
    ids=["long_url", "big_header", "cl_and_te", "negative_length", "no_colon"],
)
def test_malformed_requests_keep_their_own_status_with_the_right_key(guarded, head):
    answer = raw(guarded, head + f"X-API-Key: {KEY}\r\n\r\n".encode())
    assert statuses(answer) and statuses(answer)[0] in (400, 414, 431), answer[:300]
    assert body_of(answer)["ok"] is False


def test_a_key_with_bytes_that_are_not_utf8_is_a_401(guarded):
    answer = raw(
        guarded, b"GET /vector_similarity?usr_input=a HTTP/1.1\r\nHost: x\r\nX-API-Key: \xff\xfe\r\n\r\n"
    )
    assert statuses(answer) == [401]


@pytest.mark.parametrize(
    "path", ["/static/", "/static/app.js%00.html", "/static/" + "a" * 6000, "/static/../README.md"]
)
def test_static_paths_that_name_no_file_are_404(guarded, path):
    answer = raw(guarded, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert statuses(answer)[0] == 404, answer[:300]


def test_the_page_and_its_files_carry_security_headers(guarded):
    page = httpx.get(guarded.url + "/", timeout=10)
    assert (
        page.headers["x-frame-options"] == "DENY"
        and "default-src 'self'" in page.headers["content-security-policy"]
    )
    script = httpx.get(guarded.url + "/static/app.js", timeout=10)
    assert script.status_code == 200 and script.headers["x-content-type-options"] == "nosniff"


def test_a_smuggling_shape_is_a_400_and_the_riding_request_is_not_served(guarded):
    riding = b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"
    body = b"usr_input=a" + riding
    head = (
        b"POST /vector_similarity HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Transfer-Encoding : chunked\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
    )
    answer = raw(guarded, head + f"X-API-Key: {KEY}\r\n\r\n".encode() + body)
    assert statuses(answer) == [400], answer[:300]


def test_an_unreadable_url_is_answered_400_once_without_a_traceback(guarded):
    logged = len(guarded.log())
    for _ in range(20):
        assert statuses(raw(guarded, b"GET /a\x00 HTTP/1.1\r\nHost: x\r\n\r\n")) == [400]
    added = guarded.log()[logged:]
    assert "Traceback" not in added and len(added) < 20 * 200, added[-2000:]


def test_a_trickling_client_meets_a_whole_request_deadline(guarded):
    port = int(guarded.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        answer, sent = b"", 0
        s.settimeout(0.5)
        while not answer and sent < 60:  # a byte every half second: 30 s at most, 15x the deadline
            try:
                answer = s.recv(65536)
            except TimeoutError:
                s.sendall(b"X")
                sent += 1
    assert statuses(answer) == [408] and sent < 60, (answer[:200], sent)


def test_idle_connections_are_closed_and_cannot_shut_out_a_real_request(guarded):
    port = int(guarded.url.rsplit(":", 1)[1])
    silent = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(3 * CAP)]
    try:
        resp = httpx.get(guarded.url + "/health", timeout=30)
        assert resp.status_code == 200
        evicted = scrape(guarded)[("wordsim_refused_total", frozenset({("reason", "connection_evicted")}))]
        assert evicted >= CAP // 2  # of the 2 x CAP over the cap, the rest met their idle timeout
        assert "idle the longest" in guarded.log()
        # One that stays silent is closed by the server (the keep-alive timeout, 1 s here).
        silent[-1].settimeout(30)
        assert silent[-1].recv(1) == b""
    finally:
        for s in silent:
            s.close()


def test_one_client_past_its_limit_gets_429_with_retry_after(guarded):
    pairs = [["教" * 60 + str(i), "师" * 60 + str(i)] for i in range(64)]  # heavy: 64 pairs, long texts

    def one(_):
        return post(guarded, "/compare", json={"pairs": pairs})

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(8)))
    codes = sorted(r.status_code for r in answers)
    assert set(codes) <= {200, 429} and 200 in codes and 429 in codes, codes
    refused = next(r for r in answers if r.status_code == 429)
    assert refused.headers["retry-after"] == "1" and refused.json()["ok"] is False
    assert ready(guarded) == 200


@pytest.mark.parametrize("word", ["教\u200d师", "教师\u200b", "\ufeff一"])
def test_invisible_look_alikes_are_not_added_as_new_words(guarded, word):
    resp = post(guarded, "/words", json={"words": [word]})
    assert resp.status_code == 400 and "invisible format character" in resp.json()["error"], resp.text


def test_concurrent_adds_of_one_word_add_it_once(guarded):
    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # within the per-client limit (2)
        answers = list(pool.map(lambda _: post(guarded, "/words", json={"words": ["并发新词"]}), range(2)))
    assert [r.status_code for r in answers] == [200, 200], [r.text for r in answers]
    assert sorted(r.json()["words"][0]["added"] for r in answers) == [False, True]
