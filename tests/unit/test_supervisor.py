"""The local Milvus supervisor's policy, with a fake server and a fake clock (fast), and
``run``'s give-up path with a real command."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from fakes import FakeClock, FakeLocalMilvus, GivingUp, NoMilvusProcess, Running
from wordsim.local_milvus import cli
from wordsim.local_milvus.launcher import Death
from wordsim.local_milvus.supervisor import STABLE_S, Abandoned, GaveUp, Supervisor, restart_wait

KILLED = Death("milvus", -9, Path("/data/logs"))


class Said(logging.Handler):
    """The lines logged to ``wordsim.local_milvus``, whatever else configured logging."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def said(monkeypatch: pytest.MonkeyPatch):
    logger = logging.getLogger("wordsim.local_milvus")
    monkeypatch.setattr(logger, "disabled", False)
    monkeypatch.setattr(logger, "level", logging.INFO)
    handler = Said()
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_waits_double_up_to_thirty_seconds() -> None:
    assert [restart_wait(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_running_server_is_left_alone() -> None:
    server, clock = FakeLocalMilvus(), FakeClock()
    Supervisor(server, 5, wait=clock.wait, clock=clock).check()
    assert server.starts == 0 and clock.waits == []


def test_death_is_logged_and_restarted(said: Said) -> None:
    server, clock = FakeLocalMilvus(), FakeClock()
    sup = Supervisor(server, 5, wait=clock.wait, clock=clock)
    server.death = KILLED
    sup.check()
    assert server.starts == 1 and server.death is None and clock.waits == [1]
    assert (
        "milvus died (killed by SIGKILL; Milvus' logs in /data/logs); restart attempt 1 of 5 in 1 s"
        in said.text
    )
    assert "restarted at http://127.0.0.1:1 (attempt 1)" in said.text


def test_failed_starts_back_off_then_give_up(said: Said) -> None:
    server, clock = FakeLocalMilvus(failures=99), FakeClock()
    sup = Supervisor(server, 5, wait=clock.wait, clock=clock)
    server.death = KILLED
    with pytest.raises(GaveUp, match="giving up after 5"):
        sup.check()
    assert clock.waits == [1, 2, 4, 8, 16] and server.starts == 5
    assert "restart attempt 5 of 5 in 16 s" in said.text
    assert "restart failed: port in use" in said.text


def test_crash_loop_gives_up_but_a_stable_run_resets_the_count() -> None:
    server, clock = FakeLocalMilvus(), FakeClock()
    sup = Supervisor(server, 3, wait=clock.wait, clock=clock)
    for _ in range(3):  # each restart works, and dies again soon after
        server.death = KILLED
        sup.check()
        clock.now += STABLE_S / 2
    assert clock.waits == [1, 2, 4]
    server.death = KILLED
    with pytest.raises(GaveUp, match="3 restart"):
        sup.check()

    sup = Supervisor(server, 3, wait=clock.wait, clock=clock)
    clock.waits.clear()
    for _ in range(5):  # each run lasts: every death is attempt 1 again
        server.death = KILLED
        sup.check()
        clock.now += STABLE_S
    assert clock.waits == [1] * 5


def test_zero_restarts_gives_up_at_the_first_death() -> None:
    server, clock = FakeLocalMilvus(), FakeClock()
    server.death = KILLED
    with pytest.raises(GaveUp):
        Supervisor(server, 0, wait=clock.wait, clock=clock).check()
    assert server.starts == 0


def test_wait_can_abandon_the_restart() -> None:
    server = FakeLocalMilvus()
    server.death = KILLED
    with pytest.raises(Abandoned):
        Supervisor(server, 5, wait=lambda s: True).check()
    assert server.starts == 0


def test_run_stops_its_command_and_fails_when_milvus_is_given_up(said: Said) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        code = cli._supervise(NoMilvusProcess(), child, GivingUp())
        assert code == 1
        assert child.poll() is not None, "the command was left running"
        assert "giving up after 5 restart(s); stopping the command" in said.text
    finally:
        child.kill()
        child.wait()


def test_run_returns_the_command_status() -> None:
    child = subprocess.Popen([sys.executable, "-c", "raise SystemExit(7)"])
    assert cli._supervise(NoMilvusProcess(), child, Running()) == 7
