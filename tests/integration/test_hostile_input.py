"""A corpus of hostile requests: each gets the right 4xx in the one JSON error shape, or a
valid answer where the input is legitimate; no 5xx, no stack trace, no internal path."""

from __future__ import annotations

import asyncio
import json
import socket
import time

import httpx
import pytest

URL = "/vector_similarity"
JSON_HDR = {"content-type": "application/json"}
FORM_HDR = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture(scope="module")
def server(lite_server):
    return lite_server


def nested(depth: int) -> bytes:
    return b'{"usr_input": ' + b"[" * depth + b"]" * depth + b"}"


OK = 200
# (name, request kwargs for httpx, expected status)
CORPUS = [
    ("missing", {"data": {}}, 400),
    ("empty", {"data": {"usr_input": ""}}, 400),
    ("blank", {"data": {"usr_input": "   "}}, 400),
    ("ideographic_space_only", {"data": {"usr_input": "\u3000\u3000"}}, 400),
    ("tab_newline_only", {"data": {"usr_input": "\t\n"}}, 400),
    ("punctuation_only", {"data": {"usr_input": "，。！？"}}, OK),
    ("ascii_punctuation", {"data": {"usr_input": "!!!???"}}, OK),
    ("emoji", {"data": {"usr_input": "😀"}}, OK),
    ("emoji_zwj", {"data": {"usr_input": "👩‍👩‍👧"}}, OK),
    ("control_bell", {"data": {"usr_input": "教\x07师"}}, 400),
    ("control_nul", {"data": {"usr_input": "\x00"}}, 400),
    ("lone_surrogate_json", {"content": b'{"usr_input": "\\ud800"}', "headers": JSON_HDR}, 400),
    ("lone_low_surrogate_in_word", {"content": b'{"usr_input": "\\u6559\\udc00"}', "headers": JSON_HDR}, 400),
    ("private_use", {"data": {"usr_input": "教\ue000"}}, 400),
    ("noncharacter", {"data": {"usr_input": "\ufdd0"}}, 400),
    ("zero_width_only", {"data": {"usr_input": "\u200b\u200d"}}, 400),
    ("zero_width_inside", {"data": {"usr_input": "教\u200b师"}}, OK),
    ("mixed_scripts", {"data": {"usr_input": "abc中文кириллицаعربي"}}, OK),
    ("full_width", {"data": {"usr_input": "ＡＢＣ教师１２３"}}, OK),
    ("rtl_override", {"data": {"usr_input": "\u202e教师"}}, OK),
    ("combining_marks", {"data": {"usr_input": "e\u0301\u0301\u0301"}}, OK),
    ("exactly_max_len", {"data": {"usr_input": "教" * 64}}, OK),
    ("over_max_len", {"data": {"usr_input": "教" * 65}}, 400),
    ("value_10kB", {"data": {"usr_input": "师" * 3500}}, 400),
    ("value_1MB", {"data": {"usr_input": "a" * 1_000_000}}, 413),
    ("invalid_utf8_raw_form", {"content": b"usr_input=\xff\xfe", "headers": FORM_HDR}, 400),
    ("invalid_utf8_percent_form", {"content": b"usr_input=%FF%FE", "headers": FORM_HDR}, 400),
    ("invalid_utf8_query", {"params": None, "url_suffix": "?usr_input=%FF"}, 400),
    ("invalid_utf8_json", {"content": b'{"usr_input": "\xff"}', "headers": JSON_HDR}, 400),
    ("invalid_json", {"content": b"{usr_input: 1", "headers": JSON_HDR}, 400),
    ("json_not_object", {"content": '"教师"'.encode(), "headers": JSON_HDR}, 400),
    ("json_null", {"content": b"null", "headers": JSON_HDR}, 400),
    ("json_nested_deep", {"content": nested(20000), "headers": JSON_HDR}, 400),
    ("json_usr_input_object", {"json": {"usr_input": {"a": "b"}}}, 400),
    ("json_usr_input_number", {"json": {"usr_input": 12}}, 400),
    (
        "wrong_content_type_xml",
        {"content": b"<usr_input>x</usr_input>", "headers": {"content-type": "text/xml"}},
        415,
    ),
    (
        "wrong_content_type_octet",
        {"content": b"\x00\x01", "headers": {"content-type": "application/octet-stream"}},
        415,
    ),
    ("default_octet_stream_body", {"content": "usr_input=教师".encode(), "headers": {}}, 415),
    (
        "broken_multipart",
        {"content": b"--x\r\nbroken", "headers": {"content-type": "multipart/form-data; boundary=x"}},
        400,
    ),
    (
        "duplicate_fields_differ",
        {"content": "usr_input=教师&usr_input=教学".encode(), "headers": FORM_HDR},
        400,
    ),
    (
        "duplicate_fields_same",
        {"content": "usr_input=教师&usr_input=教师".encode(), "headers": FORM_HDR},
        400,
    ),
    ("query_and_body", {"data": {"usr_input": "教师"}, "params": {"usr_input": "教学"}}, 400),
    ("top_k_0", {"data": {"usr_input": "教师", "top_k": "0"}}, 400),
    ("top_k_neg", {"data": {"usr_input": "教师", "top_k": "-1"}}, 400),
    ("top_k_101", {"data": {"usr_input": "教师", "top_k": "101"}}, 400),
    ("top_k_1e9", {"data": {"usr_input": "教师", "top_k": "1e9"}}, 400),
    ("top_k_abc", {"data": {"usr_input": "教师", "top_k": "abc"}}, 400),
    ("top_k_float", {"json": {"usr_input": "教师", "top_k": 2.5}}, 400),
    ("top_k_list", {"json": {"usr_input": "教师", "top_k": [3]}}, 400),
    ("top_k_fullwidth_digit", {"data": {"usr_input": "教师", "top_k": "３"}}, 400),
    ("top_k_100", {"data": {"usr_input": "教师", "top_k": "100"}}, OK),
    ("top_k_json_int", {"json": {"usr_input": "教师", "top_k": 5}}, OK),
    ("sql_injection_text", {"data": {"usr_input": "' OR 1=1 --"}}, OK),
    ("milvus_expr_text", {"data": {"usr_input": 'id > 0 or text == "x"'}}, OK),
    ("html_text", {"data": {"usr_input": "<script>alert(1)</script>"}}, OK),
]


def send(server, kw: dict) -> httpx.Response:
    kw = dict(kw)
    suffix = kw.pop("url_suffix", "")
    kw.pop("params", None) if kw.get("params") is None else None
    return httpx.post(server.url + URL + suffix, timeout=30, **kw)


@pytest.mark.parametrize("name,kw,status", CORPUS, ids=[c[0] for c in CORPUS])
def test_hostile_request(server, name, kw, status):
    resp = send(server, kw)
    assert resp.status_code == status, resp.text[:500]
    body = resp.json()
    if status == OK:
        assert "相似度计算的结果为：" in body
    else:
        assert body == {"ok": False, "error": body["error"], "status": status}
        for leak in ("Traceback", ".py", "/work", "site-packages", 'File "'):
            assert leak not in body["error"]


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 40


def test_nfkc_and_trim_give_the_same_answer(server):
    a = send(server, {"data": {"usr_input": "ＡＢＣ"}}).json()
    b = send(server, {"data": {"usr_input": "  ABC\u3000"}}).json()
    assert a == b


def test_slow_body_times_out_with_408(server):
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /vector_similarity HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nusr_in"
        )
        t0 = time.monotonic()
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert time.monotonic() - t0 < 20  # the response timeout (request timeout + 5 s) answers it
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), data[:200]
    assert json.loads(body)["status"] == 408


def test_server_still_healthy_after_the_corpus(server):
    for _name, kw, _ in CORPUS:
        send(server, kw)
    assert httpx.get(server.url + "/health", timeout=30).json()["ok"] is True
    log = server.log()
    assert "Traceback" not in log
    assert "教师" not in log  # user input is not kept in logs


def test_server_binds_only_the_configured_host(server):
    import psutil

    listening = {
        (c.laddr.ip, c.laddr.port)
        for c in psutil.Process(server.proc.pid).net_connections("inet")
        if c.status == psutil.CONN_LISTEN
    }
    port = int(server.url.rsplit(":", 1)[1])
    assert {ip for ip, p in listening if p == port} == {"127.0.0.1"}
    # Milvus Lite's in-process gRPC server is the only other listener, on loopback too.
    assert all(ip in ("127.0.0.1", "::ffff:127.0.0.1") for ip, _ in listening), listening


def test_bad_queries_never_fail_good_concurrent_ones(server):
    """Concurrent queries share encoder calls: refused ones must not take good ones down."""
    bad = {"content": b'{"usr_input": "\\ud800"}', "headers": JSON_HDR}
    words = ["教师", "学生", "中国", "教学", "任课教师"]

    async def run():
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            jobs = [
                client.post(URL, **bad) if i % 6 == 0 else client.post(URL, data={"usr_input": words[i % 5]})
                for i in range(96)
            ]
            return await asyncio.gather(*jobs)

    statuses = [r.status_code for r in asyncio.run(run())]
    assert statuses[::6] == [400] * 16
    assert [s for i, s in enumerate(statuses) if i % 6] == [200] * 80


def send_everything_then_read(server, raw: bytes) -> tuple[int, dict]:
    """A client that sends its whole request before reading, as curl does with a large body:
    the answer must reach it, not a connection reset."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(raw)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), json.loads(body)


MB = 1 << 20
GET_A = b"GET /vector_similarity?usr_input=a HTTP/1.1\r\nHost: x\r\n"


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"POST /vector_similarity HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
         b"\r\nContent-Length: %d\r\n\r\n" % (2 * MB) + b"usr_input=" + b"a" * (2 * MB - 10), 413),
        (b"POST /vector_similarity HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
         b"\r\nContent-Length: %d\r\n\r\n" % (4 * MB) + b"{" * (4 * MB), 413),
        (b"GET /vector_similarity?usr_input=" + b"a" * (200 << 10) + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (b"GET /vector_similarity?usr_input=" + b"a" * (256 << 10) + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
        (GET_A + b"X-Big: " + b"b" * (200 << 10) + b"\r\n\r\n", 431),
        (GET_A + b"X-Many: c\r\n" * 23000 + b"\r\n", 431),
    ],
    ids=["body_2MB", "body_4MB", "url_200kB", "url_256kB", "header_200kB", "headers_256kB"],
)  # fmt: skip
def test_oversized_requests_get_their_status_not_a_reset(server, raw, status):
    code, body = send_everything_then_read(server, raw)
    assert code == status and body == {"ok": False, "error": body["error"], "status": status}
