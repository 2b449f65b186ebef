"""``make run``'s supervised local Milvus, for real: ``python -m wordsim.local_milvus run --
sh -c 'ingest && exec server'`` with a subset, under steady load; Milvus (then its sandbox)
is SIGKILLed; the service must answer 200 again within 60 s without a restart of its own,
no request may hang past its timeout, and the log must say what happened, briefly."""

from __future__ import annotations

import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from support import ROOT, base_env, ingest_cmd
from wordsim.netutil import free_port

pytestmark = pytest.mark.milvus_server

CLIENT_TIMEOUT_S = 20.0
MILVUS_TIMEOUT_S = 5.0  # the service answers 503 after this; the client waits longer
RECOVERY_S = 60.0
WORDS = ["教师", "教学", "任课", "学生", "老师", "上课", "阿", "啊", "一下", "一个"]
_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


@dataclass
class Supervised:
    proc: subprocess.Popen
    url: str
    log_path: Path
    data_dir: Path
    env: dict[str, str]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, pattern: str, after: int, timeout: float) -> re.Match:
        """The first match of ``pattern`` past offset ``after`` of the log, once it is there."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if found := re.compile(pattern).search(self.log(), after):
                return found
            assert self.proc.poll() is None, f"run exited with {self.proc.returncode}:\n{self.log()[-5000:]}"
            time.sleep(0.2)
        raise AssertionError(f"no {pattern!r} in the log within {timeout} s:\n{self.log()[after:][-5000:]}")

    def sandbox_tree(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)


def start_supervised(tmp: Path, **extra: str) -> Supervised:
    data_dir, port = tmp / "milvus", free_port()
    env = base_env(
        WORDSIM_MODEL_DIR=str(tmp / "no_model"),
        WORDSIM_LOCAL_MILVUS_PORT=str(free_port()),
        WORDSIM_LOCAL_MILVUS_DATA_DIR=str(data_dir),
        WORDSIM_PORT=str(port),
        WORDSIM_ANSWER_CACHE_SIZE="0",  # every request reaches Milvus
        WORDSIM_MILVUS_TIMEOUT_S=str(MILVUS_TIMEOUT_S),
        WORDSIM_CACHE_CHECK_INTERVAL_S="1",
        **extra,
    )
    (tmp / "no_model").mkdir()
    server = shlex.join([sys.executable, str(ROOT / "sanic_milvus.py")])
    cmd = [sys.executable, "-m", "wordsim.local_milvus", "run", "--"]
    cmd += ["sh", "-c", f"{shlex.join(ingest_cmd())} && exec {server}"]
    log_path = tmp / "run.log"
    with log_path.open("w") as log_fh:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log_fh, stderr=subprocess.STDOUT)
    run = Supervised(proc, f"http://127.0.0.1:{port}", log_path, data_dir, env)
    try:
        run.wait_log(r"Worker ready", 0, 400)  # Milvus started, subset ingested, server up
    except BaseException:
        stop_supervised(run)
        raise
    return run


def stop_supervised(run: Supervised) -> int:
    if run.proc.poll() is None:
        run.proc.send_signal(signal.SIGTERM)  # forwarded to the server; then Milvus stops
        try:
            run.proc.wait(60)
        except subprocess.TimeoutExpired:
            for p in [*run.sandbox_tree(), psutil.Process(run.proc.pid)]:
                p.kill()
            run.proc.wait()
            raise AssertionError("run did not stop within 60 s of SIGTERM") from None
    return run.proc.returncode


@pytest.fixture(scope="module")
def supervised(tmp_path_factory) -> Supervised:
    run = start_supervised(tmp_path_factory.mktemp("supervised"))
    yield run
    code = stop_supervised(run)
    assert code == 0, run.log()[-3000:]
    assert not [p for p in psutil.process_iter(["exe"]) if str(run.data_dir) in (p.info["exe"] or "")]


class Load:
    """Requests back to back from a thread until closed; each one's start, end and outcome."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.results: list[tuple[float, float, object]] = []
        self.killed_at: float | None = None
        self.failed_after_kill = threading.Event()
        self.recovered = threading.Event()  # a 200 that started after a failure after the kill
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=CLIENT_TIMEOUT_S) as client:
            i = 0
            while not self.stop.is_set():
                i += 1
                t0 = time.monotonic()
                try:
                    word = WORDS[i % len(WORDS)]
                    outcome: object = client.post(
                        self.url + "/vector_similarity", data={"usr_input": word}
                    ).status_code
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                self.results.append((t0, time.monotonic(), outcome))
                if self.killed_at is not None and t0 > self.killed_at:
                    if outcome != 200:
                        self.failed_after_kill.set()
                    elif self.failed_after_kill.is_set():
                        self.recovered.set()
                if outcome != 200:
                    self.stop.wait(0.02)  # a failing server answers at once: do not spin

    def close(self) -> None:
        self.stop.set()
        self.thread.join(CLIENT_TIMEOUT_S + 5)
        assert not self.thread.is_alive()


def _kill_and_recover(run: Supervised, victim: psutil.Process, died: str) -> None:
    load = Load(run.url)
    try:
        deadline = time.monotonic() + 30
        while not any(r[2] == 200 for r in load.results):  # steady state first
            assert time.monotonic() < deadline, load.results[-5:]
            time.sleep(0.05)
        offset = len(run.log())
        load.killed_at = time.monotonic()
        victim.send_signal(signal.SIGKILL)
        recovered = load.recovered.wait(RECOVERY_S)
        assert recovered, f"no 200 within {RECOVERY_S} s of the kill:\n{run.log()[offset:][-5000:]}"
        outage_s = time.monotonic() - load.killed_at
    finally:
        load.close()

    said = rf"ERROR wordsim\.local_milvus: local Milvus: {died} \(killed by SIGKILL;.*\); restart attempt \d"
    death = run.wait_log(said + " of 5 in", offset, 5)
    back = run.wait_log(r"local Milvus: restarted at http://127\.0\.0\.1:\d+ \(attempt \d\)", death.end(), 5)
    # no request hung: each one answered (200 or 503) before the client's timeout
    hung = [r for r in load.results if r[1] - r[0] >= CLIENT_TIMEOUT_S]
    assert not hung, hung[:5]
    assert {r[2] for r in load.results} <= {200, 503}, {r[2] for r in load.results}
    # the outage's log: no traceback, and each kind of failure at most once per 10 s
    text = run.log()
    assert "Traceback" not in text
    outage = [
        line
        for line in text[death.end() : back.start()].splitlines()
        if _STAMP.match(line) and " wordsim.access: " not in line and " wordsim.local_milvus: " not in line
    ]
    kinds = {re.sub(r"\d+", "#", line[24:])[:50] for line in outage}
    assert len(outage) <= len(kinds) * (outage_s // 10 + 2), "\n".join(outage)
    print(
        f"{died}: 200 again {outage_s:.1f} s after the kill; {len(load.results)} requests; "
        f"{len(outage)} log lines of {len(kinds)} kinds during the outage"
    )


def test_killed_milvus_is_restarted_and_the_service_answers_again(supervised: Supervised) -> None:
    (milvus,) = [p for p in supervised.sandbox_tree() if p.name() == "milvus"]
    _kill_and_recover(supervised, milvus, "milvus died")


def test_killed_sandbox_is_restarted_and_the_service_answers_again(supervised: Supervised) -> None:
    (sandbox,) = [
        p
        for p in psutil.Process(supervised.proc.pid).children()
        if "wordsim.local_milvus.sandbox" in p.cmdline()
    ]
    _kill_and_recover(supervised, sandbox, "the sandbox process died")
