"""The ``wordsim`` command against a scripted service (tests/fake_service.py), run in
process through ``main(argv)``: the table, ``--json``, where the address and the key come
from, and the one-line error and exit status of each failure."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib

import pytest

from fake_service import FakeService, error, similar
from support import ROOT
from wordsim import cli
from wordsim.netutil import free_port

TEACHER = similar(("教学", 1.0), ("教师", 1.0), ("教员", 0.98812))


@pytest.fixture(autouse=True)
def no_env(monkeypatch):
    for name in ("WORDSIM_URL", "WORDSIM_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    assert err.endswith("\n") and err.count("\n") == 1 and "Traceback" not in err, err
    return err.strip()


def test_nearby_prints_an_aligned_table(capsys):
    with FakeService([(200, TEACHER)]) as svc:
        code, out, err = run(capsys, "nearby", "教师", "--size", "3", "--url", svc.url)
    assert (code, err) == (0, "")
    assert out == ("rank  word  distance\n   1  教师    1.0000\n   2  教学    1.0000\n   3  教员    0.9881\n")
    assert svc.sent[0].body == {"usr_input": "教师", "top_k": 3}


def test_the_default_size_is_ten_and_filters_pass_through(capsys):
    with FakeService([(200, similar(("教学", 0.9), score=True))]) as svc:
        argv = ["nearby", "教师", "--url", svc.url, "--collection", "c", "--calibrated", "--pos", "n,v"]
        argv += ["--min-score", "0.5", "--min-freq", "3", "--exclude-self", "--exclude-overlap"]
        code, out, _ = run(capsys, *argv)
    assert code == 0 and out == "rank  word   score\n   1  教学  0.4500\n"
    assert svc.sent[0].body == {
        "usr_input": "教师",
        "top_k": 10,
        "collection": "c",
        "score": "calibrated",
        "pos": "n,v",
        "min_score": 0.5,
        "min_freq": 3,
        "exclude_self": True,
        "exclude_overlap": True,
    }


def test_json_is_one_document_with_chinese_as_is(capsys):
    with FakeService([(200, TEACHER), (200, {"a": "医生", "b": "护士", "distance": 0.86})]) as svc:
        code, out, _ = run(capsys, "nearby", "教师", "--json", "--url", svc.url)
        assert code == 0 and "教师" in out
        assert json.loads(out) == {
            "word": "教师",
            "words": ["教师", "教学", "教员"],
            "scores": [1.0, 1.0, 0.98812],
        }
        code, out, _ = run(capsys, "compare", "医生", "护士", "--json", "--url", svc.url)
    assert code == 0 and json.loads(out) == {"a": "医生", "b": "护士", "score": 0.86}


def test_compare_prints_a_table(capsys):
    with FakeService([(200, {"a": "医生", "b": "护士", "distance": 0.8599187})]) as svc:
        code, out, _ = run(capsys, "compare", "医生", "护士", "--url", svc.url)
    assert code == 0 and out == "a     b     distance\n医生  护士    0.8599\n"


def test_address_and_key_from_the_environment(capsys, monkeypatch):
    with FakeService([(200, TEACHER)] * 2) as svc, FakeService([(200, TEACHER)]) as other:
        monkeypatch.setenv("WORDSIM_URL", svc.url)
        monkeypatch.setenv("WORDSIM_API_KEY", "s3cret")
        assert run(capsys, "nearby", "教师")[0] == 0
        assert run(capsys, "nearby", "教师", "--url", other.url)[0] == 0  # --url wins
    assert svc.sent[0].headers["x-api-key"] == "s3cret" and len(svc.sent) == 1
    assert len(other.sent) == 1


def test_several_words_one_refused(capsys):
    answer = [similar(("教师", 1.0)), error(400, "usr_input is longer than 64 characters")]
    long = "教" * 65
    with FakeService([(200, answer), (200, answer)]) as svc:
        code, out, err = run(capsys, "nearby", "教师", long, "--url", svc.url, "--size", "1")
        assert code == cli.REFUSED
        table = "教师\nrank  word  distance\n   1  教师    1.0000\n"
        assert out == f"{table}\n{long}: error: usr_input is longer than 64 characters\n"
        assert "refused words[1]" in one_line(err)
        code, out, err = run(capsys, "nearby", "教师", long, "--url", svc.url, "--json")
    assert code == cli.REFUSED and json.loads(out) == [
        {"word": "教师", "words": ["教师"], "scores": [1.0]},
        {"word": long, "error": "usr_input is longer than 64 characters", "status": 400},
    ]
    assert svc.sent[0].body["usr_input"] == ["教师", long]


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["nearby"],
        ["nearby", ""],
        ["nearby", "  "],
        ["nearby", "教师", "--size", "0"],
        ["nearby", "教师", "--size", "ten"],
        ["compare", "医生"],
        ["compare", "医生", ""],
        ["nearby", "教师", "--url", "127.0.0.1:8848"],
        ["nearby", "教师", "--timeout", "0"],
        ["nearby", "教师", "--timeout", "nan"],
        ["frobnicate"],
    ],
)
def test_bad_input_is_one_line_and_status_2(capsys, argv):
    with pytest.raises(SystemExit) as exited:
        raise SystemExit(cli.main(argv))
    assert exited.value.code == cli.BAD_INPUT
    assert one_line(capsys.readouterr().err).startswith("wordsim")


def test_an_unreachable_service_is_status_3(capsys):
    url = f"http://127.0.0.1:{free_port()}"
    code, out, err = run(capsys, "compare", "医生", "护士", "--url", url)
    assert (code, out) == (cli.UNREACHABLE, "")
    assert one_line(err) == (
        f"wordsim: error: cannot reach the service at {url}: connection refused; "
        "is it running (make run), and is the address right?"
    )


@pytest.mark.parametrize(
    ("answers", "code", "message"),
    [
        (
            [(400, error(400, "top_k must be an integer from 1 to 100"))],
            cli.REFUSED,
            "top_k must be an integer",
        ),
        ([(401, error(401, "missing or wrong X-API-Key header"))], cli.REFUSED, "give the service's key"),
        ([(500, error(500, "internal error"))], cli.FAILED, "failed (500): internal error"),
        (
            [(503, error(503, "unavailable"), {"Retry-After": "0"})] * 4,
            cli.FAILED,
            "(4 attempts); try again later",
        ),
        ([(200, b"<html></html>")], cli.FAILED, "is not the service's"),
    ],
)
def test_service_failures_are_one_line_with_its_message(capsys, answers, code, message):
    with FakeService(answers) as svc:
        got, out, err = run(capsys, "nearby", "教师", "--url", svc.url)
    assert (got, out) == (code, "")
    assert message in one_line(err)


def test_the_install_declares_the_command():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"wordsim": "wordsim.cli:main"}


def test_python_m_wordsim_runs_the_command():
    done = subprocess.run(
        [sys.executable, "-m", "wordsim", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and "nearby" in done.stdout and "exit status" in done.stdout


def test_table_aligns_wide_characters():
    text = cli.table(["rank", "word", "distance"], [["1", "a", "1.0000"], ["10", "一丝不苟", "0.5000"]])
    assert text.splitlines() == [
        "rank  word      distance",
        "   1  a           1.0000",
        "  10  一丝不苟    0.5000",
    ]
