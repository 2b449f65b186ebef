"""wordsim.client and the wordsim command against the real server (``lite_server``: the
first 600 lines of jieba's dict.txt in Milvus Lite, the offline stand-in model): the answers
are the service's own, the word comes first, batches split transparently, and every failure
is one line and an exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from support import ROOT, base_env
from wordsim.client import Client, ClientError, ServiceUnreachable
from wordsim.netutil import free_port

KEY = "相似度计算的结果为："
WORD, OTHER = "一丝不苟", "一下子"  # dictionary lines 261 and 220
WORDS = ["一丝不苟", "一下子", "一世", "一两天", "一个劲", "一不小心", "一专多能"]


@pytest.fixture(scope="module")
def client(lite_server) -> Client:
    return Client(lite_server.url, timeout=60)


def service(server, path: str, **data) -> dict:
    resp = httpx.post(server.url + path, data=data, timeout=60)
    assert resp.status_code == 200, resp.text
    return resp.json()


def command(*argv: str, url: str) -> subprocess.CompletedProcess:
    """The installed console script when the venv has it, else ``python -m wordsim.cli``;
    this checkout's code either way (PYTHONPATH), run from another folder."""
    script = Path(sys.executable).with_name("wordsim")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "wordsim.cli"]
    env = base_env(WORDSIM_URL=url, PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8")
    return subprocess.run(
        [*cmd, *argv], env=env, cwd="/", capture_output=True, text=True, timeout=120, check=False
    )


def test_nearby_is_the_word_then_its_nearest_words(lite_server, client):
    words, scores = client.nearby(WORD, size=5)
    hits = list(service(lite_server, "/vector_similarity", usr_input=WORD, top_k=5)[KEY].values())
    assert len(words) == len(scores) == 5 and words[0] == WORD
    assert scores[0] == pytest.approx(1.0, abs=1e-5)
    served = {h["fields"]["text"]: h["distance"] for h in hits}
    assert dict(zip(words, scores, strict=True)) == served  # the service's own hits and distances
    words, scores = client.nearby(WORD)  # the default size
    assert len(words) == len(scores) == 10 and words[0] == WORD


def test_nearby_with_filters_and_calibrated_scores(lite_server, client):
    words, scores = client.nearby(WORD, size=4, calibrated=True, exclude_self=True)
    body = service(
        lite_server, "/vector_similarity", usr_input=WORD, top_k=4, score="calibrated", exclude_self=1
    )
    assert WORD not in words and len(words) == 4
    assert scores == [h["score"] for h in body[KEY].values()]


def test_compare_is_the_services_distance(lite_server, client):
    body = service(lite_server, "/compare", a=WORD, b=OTHER)
    assert client.compare(WORD, OTHER) == body["distance"]
    calibrated = service(lite_server, "/compare", a=WORD, b=OTHER, score="calibrated")["score"]
    assert client.compare(WORD, OTHER, calibrated=True) == calibrated


def test_batches_split_transparently_give_the_single_answers(lite_server, client):
    small = Client(lite_server.url, timeout=60, max_items=3)  # 7 words: 3 requests
    assert small.nearby_many(WORDS, size=3) == [client.nearby(w, size=3) for w in WORDS]
    pairs = [(WORD, w) for w in WORDS]
    assert small.compare_many(pairs) == [client.compare(a, b) for a, b in pairs]


def test_the_services_refusals_carry_its_message(client):
    for call, message in [
        (lambda: client.nearby(""), "usr_input is empty"),
        (lambda: client.nearby(WORD, size=101), "top_k must be an integer from 1 to 100"),
        (lambda: client.compare(WORD, OTHER, collection="nope"), "unknown collection 'nope'"),
        (lambda: client.compare_many([(WORD, "")]), "pairs[0][1] is empty"),
    ]:
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.status == 400 and caught.value.message.startswith(message)
    first, refused = client.nearby_many([WORD, "教\x07"], size=2, return_errors=True)
    assert first == client.nearby(WORD, size=2)
    assert isinstance(refused, ClientError) and "U+0007, a control character" in refused.message


def test_command_nearby_table_and_json(lite_server, client):
    done = command("nearby", WORD, "--size", "3", url=lite_server.url)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["rank", "word", "distance"] and len(lines) == 4
    words, scores = client.nearby(WORD, size=3)
    assert [line.split()[1] for line in lines[1:]] == words
    assert [float(line.split()[2]) for line in lines[1:]] == [round(s, 4) for s in scores]
    done = command("nearby", WORD, "--json", url=lite_server.url)
    assert done.returncode == 0, done.stderr
    words, scores = client.nearby(WORD)
    assert json.loads(done.stdout) == {"word": WORD, "words": words, "scores": scores}


def test_command_compare(lite_server, client):
    done = command("compare", WORD, OTHER, "--json", url=lite_server.url)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"a": WORD, "b": OTHER, "score": client.compare(WORD, OTHER)}
    done = command("compare", WORD, OTHER, url=lite_server.url)
    assert done.returncode == 0 and done.stdout.splitlines()[1].split()[:2] == [WORD, OTHER]


def test_command_failures_are_one_line_and_an_exit_status(lite_server):
    dead = f"http://127.0.0.1:{free_port()}"
    for argv, url, code, message in [
        (["nearby", WORD], dead, 3, f"cannot reach the service at {dead}: connection refused"),
        (
            ["nearby", WORD, "--size", "101"],
            lite_server.url,
            4,
            "(400): top_k must be an integer from 1 to 100",
        ),
        (["nearby", "教" * 65], lite_server.url, 4, "(400): usr_input is longer than 64 characters"),
        (["compare", WORD, OTHER, "--collection", "nope"], lite_server.url, 4, "unknown collection 'nope'"),
        (["nearby", ""], lite_server.url, 2, "a word must not be empty"),
    ]:
        done = command(*argv, url=url)
        assert done.returncode == code, (argv, done.stderr)
        assert done.stdout == "" and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
        assert done.stderr.startswith("wordsim") and message in done.stderr, done.stderr


def test_unreachable_from_the_client():
    with pytest.raises(ServiceUnreachable, match="connection refused"):
        Client(f"http://127.0.0.1:{free_port()}").compare(WORD, OTHER)
