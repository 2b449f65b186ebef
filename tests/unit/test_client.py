"""wordsim.client against a scripted service over real HTTP (tests/fake_service.py): what
it sends, synonyms' ordering, retries with backoff and Retry-After (sleep recorded, never
slept), the exceptions, batches split at max_items, and that it imports nothing heavy."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import urllib.error
from dataclasses import fields

import pytest

from config import load_settings
from fake_service import DROP, HANG, FakeService, echo_words, error, similar
from support import ROOT
from wordsim.client import (
    DEFAULT_URL,
    FILTERS,
    Client,
    ClientError,
    ServerError,
    ServiceUnreachable,
    UnexpectedAnswer,
    WordsimError,
)
from wordsim.netutil import free_port
from wordsim.service.filters import Filters


class Sleeps(list):
    """The sleep of a client under test: records, never waits."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client_of(service: FakeService, **kw) -> tuple[Client, Sleeps]:
    sleeps = Sleeps()
    return Client(service.url, sleep=sleeps, **kw), sleeps


def test_nearby_sends_json_and_puts_the_word_first():
    answer = similar(("教学", 1.0), ("教师", 1.0), ("教员", 0.98))
    with FakeService([(200, answer)]) as svc:
        client, _ = client_of(svc, api_key="k")
        got = client.nearby("教师", size=3, collection="words", pos=["n", "v"], exclude_overlap=True)
    assert got == (["教师", "教学", "教员"], [1.0, 1.0, 0.98])  # the word first, the rest in order
    (sent,) = svc.sent
    assert sent.path == "/vector_similarity" and sent.headers["x-api-key"] == "k"
    assert sent.headers["content-type"] == "application/json"
    assert sent.body == {
        "usr_input": "教师",
        "top_k": 3,
        "collection": "words",
        "pos": ["n", "v"],
        "exclude_overlap": True,
    }


def test_nearby_of_a_text_the_collection_lacks_is_its_nearest_words():
    with FakeService([(200, similar(("教学", 0.9), ("教员", 0.8)))]) as svc:
        client, _ = client_of(svc)
        assert client.nearby(" ｅｘ教 ", size=2) == (["教学", "教员"], [0.9, 0.8])
    assert svc.sent[0].body == {"usr_input": " ｅｘ教 ", "top_k": 2}  # the service normalises
    assert "x-api-key" not in svc.sent[0].headers


def test_the_word_is_found_after_the_services_normalisation():
    with FakeService([(200, similar(("ex", 0.99), ("ex教", 0.98)))]) as svc:
        assert client_of(svc)[0].nearby(" ｅｘ教 ", size=2)[0] == ["ex教", "ex"]


def test_calibrated_scores():
    with FakeService([(200, similar(("教师", 1.0), ("教学", 0.5), score=True))]) as svc:
        words, scores = client_of(svc)[0].nearby("教师", 2, calibrated=True, min_score=0.1)
    assert (words, scores) == (["教师", "教学"], [0.5, 0.25])
    assert svc.sent[0].body == {"usr_input": "教师", "top_k": 2, "score": "calibrated", "min_score": 0.1}


def test_compare_and_its_calibrated_score():
    answers = [
        (200, {"a": "医生", "b": "护士", "distance": 0.86}),
        (200, {"a": "医生", "b": "护士", "distance": 0.86, "score": 0.4}),
    ]
    with FakeService(answers) as svc:
        client, _ = client_of(svc)
        assert client.compare("医生", "护士") == 0.86
        assert client.compare("医生", "护士", "semantic", calibrated=True) == 0.4
    assert [s.path for s in svc.sent] == ["/compare", "/compare"]
    assert svc.sent[0].body == {"a": "医生", "b": "护士"}
    assert svc.sent[1].body == {"a": "医生", "b": "护士", "collection": "semantic", "score": "calibrated"}


def test_bad_arguments_are_refused_before_any_request():
    with FakeService() as svc:
        client, _ = client_of(svc)
        for size in (0, -1, 1.5, True, "3"):
            with pytest.raises(ValueError, match="size must be a whole number"):
                client.nearby("教师", size=size)
        with pytest.raises(TypeError, match="unknown filter 'min_scor'"):
            client.nearby("教师", min_scor=0.5)
        with pytest.raises(TypeError, match="word must be a string"):
            client.nearby(None)
        with pytest.raises(ValueError, match=r"pairs\[0\] must be two texts"):
            client.compare_many([("医生",)])
        assert client.nearby_many([]) == [] and client.compare_many([]) == []
    assert svc.sent == []
    for url in ("127.0.0.1:8848", "ftp://x", "", "http://"):
        with pytest.raises(ValueError, match="must look like http://host:port"):
            Client(url)


def test_503_and_429_are_retried_with_exponential_backoff():
    busy = (503, error(503, "the vector database is unavailable; try again shortly"))
    with FakeService([busy, (429, error(429, "slow down")), busy, (200, similar(("教师", 1.0)))]) as svc:
        client, sleeps = client_of(svc, backoff=0.25)
        assert client.nearby("教师") == (["教师"], [1.0])
    assert sleeps == [0.25, 0.5, 1.0] and len(svc.sent) == 4


def test_backoff_is_capped():
    busy = (503, error(503, "busy"))
    with FakeService([busy] * 5 + [(200, similar())]) as svc:
        client, sleeps = client_of(svc, retries=5, backoff=1, max_backoff=3)
        assert client.nearby("教师") == ([], [])
    assert sleeps == [1, 2, 3, 3, 3]


@pytest.mark.parametrize(
    ("retry_after", "slept"),
    [
        ("2", 2.0),
        (" 0.5 ", 0.5),
        ("0", 0.0),
        ("3600", 30.0),  # capped at max_retry_after
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date past
        ("Fri, 01 Jan 9999 00:00:00 GMT", 30.0),  # a date far ahead: capped
        ("soon", 0.5),  # unreadable: the backoff
        ("nan", 0.5),
    ],
)
def test_retry_after_is_honoured(retry_after, slept):
    answers = [(429, error(429, "busy"), {"Retry-After": retry_after}), (200, similar())]
    with FakeService(answers) as svc:
        client, sleeps = client_of(svc)
        client.nearby("教师")
    assert sleeps == [slept]


def test_503_after_the_retries_is_a_server_error_saying_so():
    busy = (503, error(503, "the vector database is unavailable; try again shortly"))
    with FakeService([busy] * 3) as svc:
        client, sleeps = client_of(svc, retries=2)
        with pytest.raises(ServerError) as caught:
            client.compare("医生", "护士")
    assert len(svc.sent) == 3 and sleeps == [0.5, 1.0]
    err = caught.value
    assert (err.status, err.attempts, err.url) == (503, 3, svc.url)
    assert str(err) == (
        f"the service at {svc.url} failed (503): the vector database is unavailable; try again shortly "
        "(3 attempts); try again later"
    )


def test_429_after_the_retries_is_a_client_error():
    with FakeService([(429, error(429, "too many requests"))] * 2) as svc:
        client, _ = client_of(svc, retries=1)
        with pytest.raises(
            ClientError, match=r"refused the request \(429\): too many requests \(2 attempts\)"
        ):
            client.nearby("教师")


def test_other_statuses_are_not_retried():
    cases = [
        (
            500,
            error(500, "internal error"),
            ServerError,
            "failed (500): internal error; its log has the details",
        ),
        (502, b"<html>Bad Gateway</html>", ServerError, "failed (502): Bad Gateway"),
        (
            400,
            error(400, "usr_input is empty"),
            ClientError,
            "refused the request (400): usr_input is empty",
        ),
        (401, error(401, "missing or wrong X-API-Key header"), ClientError, "header; give the service's key"),
        (
            404,
            error(404, "Requested URL /x/vector_similarity not found"),
            ClientError,
            "is the URL the service's",
        ),
    ]
    for status, body, kind, message in cases:
        with FakeService([(status, body)]) as svc:
            client, sleeps = client_of(svc)
            with pytest.raises(kind, match=re.escape(message)) as caught:
                client.nearby("教师")
        assert len(svc.sent) == 1 and sleeps == []
        assert caught.value.status == status


def test_client_error_carries_the_services_message():
    refused = (400, error(400, "top_k must be an integer from 1 to 100"))
    with FakeService([refused]) as svc, pytest.raises(ClientError) as caught:
        client_of(svc)[0].nearby("教师", size=101)
    assert (caught.value.status, caught.value.message) == (400, "top_k must be an integer from 1 to 100")


def test_an_answer_not_the_services():
    for body in (b"<html>hello</html>", {"hello": 1}, {"相似度计算的结果为：": {"结果1": {"id": 1}}}):
        with FakeService([(200, body)]) as svc, pytest.raises(UnexpectedAnswer, match="is the URL right"):
            client_of(svc)[0].nearby("教师")
    with FakeService([(200, {"a": "x"})]) as svc, pytest.raises(UnexpectedAnswer, match="no distance"):
        client_of(svc)[0].compare("x", "y")


def test_unreachable_service():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServiceUnreachable) as caught:
        Client(url, sleep=Sleeps()).nearby("教师")
    assert str(caught.value) == (
        f"cannot reach the service at {url}: connection refused; "
        "is it running (make run), and is the address right?"
    )


class UnknownHost:
    """An opener whose name lookup fails, as urllib reports it (no DNS query is made)."""

    def open(self, request, timeout):
        raise urllib.error.URLError(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))


def test_an_unknown_host():
    client = Client("http://no-such-host.invalid:8848", opener=UnknownHost())
    with pytest.raises(ServiceUnreachable, match=r"the host name 'no-such-host\.invalid' is not known"):
        client.nearby("教师")


def test_a_service_that_does_not_answer_in_time():
    with FakeService([HANG]) as svc, pytest.raises(ServiceUnreachable, match=r"within 0\.2 s") as caught:
        Client(svc.url, timeout=0.2).nearby("教师")
    assert caught.value.timed_out


def test_a_connection_closed_without_an_answer():
    with (
        FakeService([DROP]) as svc,
        pytest.raises(ServiceUnreachable, match="the connection closed before an answer"),
    ):
        Client(svc.url).compare("a", "b")


def test_long_lists_are_split_into_requests_of_max_items():
    words = [f"词{i}" for i in range(130)]
    with FakeService([echo_words] * 3) as svc:
        got = client_of(svc)[0].nearby_many(words, size=1, collection="c")
    assert got == [([w], [1.0]) for w in words]
    assert [len(s.body["usr_input"]) for s in svc.sent] == [64, 64, 2]
    assert all(s.body["top_k"] == 1 and s.body["collection"] == "c" for s in svc.sent)
    pairs = [("医生", f"词{i}") for i in range(5)]
    with FakeService([echo_words] * 3) as svc:
        assert client_of(svc, max_items=2)[0].compare_many(pairs) == [0.0, 1.0, 0.0, 1.0, 0.0]
    assert [s.body["pairs"] for s in svc.sent] == [[list(p) for p in pairs[i : i + 2]] for i in (0, 2, 4)]


def test_a_refused_word_of_a_batch():
    answer = [similar(("教师", 1.0)), error(400, "usr_input is empty")]
    with FakeService([(200, answer), (200, answer)]) as svc:
        client, _ = client_of(svc)
        with pytest.raises(ClientError, match=r"refused words\[1\] '' \(400\): usr_input is empty"):
            client.nearby_many(["教师", ""])
        first, second = client.nearby_many(["教师", ""], return_errors=True)
    assert first == (["教师"], [1.0])
    assert isinstance(second, ClientError) and (second.status, second.message) == (400, "usr_input is empty")


def test_a_refused_request_of_a_split_batch_names_its_items():
    refused = (400, error(400, "pairs[1][0] is empty"))
    message = "refused the request of items 2 to 3 (400): pairs[1][0] is empty"
    with FakeService([echo_words, refused]) as svc, pytest.raises(ClientError, match=re.escape(message)):
        client_of(svc, max_items=2)[0].compare_many([("a", "b")] * 3 + [("", "b")] + [("a", "b")])


def test_every_exception_is_a_wordsim_error():
    for kind in (ServiceUnreachable, ClientError, ServerError, UnexpectedAnswer):
        assert issubclass(kind, WordsimError)


def test_the_filters_are_the_services():
    assert set(FILTERS) == {f.name for f in fields(Filters)} - {"fields"}


def test_the_default_url_is_the_services_default_address():
    settings = load_settings(environ={})
    assert f"http://{settings.host}:{settings.port}" == DEFAULT_URL


def test_import_needs_nothing_but_the_standard_library():
    """-S: no site-packages at all, as on a bare Python; nothing heavy in sys.modules."""
    heavy = ("torch", "pymilvus", "sanic", "numpy", "httpx", "onnxruntime", "transformers")
    ours = ("wordsim.client", "wordsim.client_http", "wordsim.cli")
    probe = (
        "import sys, wordsim.client, wordsim.cli;"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}"
        f" or (m.startswith('wordsim.') and m not in {ours!r})))"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
