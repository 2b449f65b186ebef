"""A real local Milvus 2.3.5: only 127.0.0.1:<port> reachable, data kept across stop/start."""

from __future__ import annotations

import os
import random
from pathlib import Path

import psutil
import pytest

from wordsim.local_milvus.launcher import LocalMilvus, LocalMilvusError
from wordsim.local_milvus.milvus_config import INNER_PORT
from wordsim.netutil import free_port

pytestmark = pytest.mark.milvus_server

HOST_DIRS = (Path("/tmp/milvus"), Path("/run/milvus"))
N_ROWS, DIM = 200, 8


def _snapshot() -> dict[Path, float]:
    return {p: p.stat().st_mtime for d in HOST_DIRS if d.is_dir() for p in [d, *d.iterdir()]}


def _tree(lm: LocalMilvus) -> list[psutil.Process]:
    helper = psutil.Process(lm._proc.pid)  # the test needs the process tree
    return [helper, *helper.children(recursive=True)]


def _milvus(procs: list[psutil.Process]) -> psutil.Process:
    (proc,) = [p for p in procs if p.name() == "milvus"]
    return proc


def _inner_pid(proc: psutil.Process) -> str:
    """The pid as seen inside its PID namespace (last field of NSpid)."""
    line = next(x for x in Path(f"/proc/{proc.pid}/status").read_text().splitlines() if x.startswith("NSpid"))
    return line.split()[-1]


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory):
    before = _snapshot()
    lm = LocalMilvus(port=free_port(), data_dir=tmp_path_factory.mktemp("local_milvus") / "milvus")
    lm.start(timeout=90)
    state = {"lm": lm, "before": before, "procs": _tree(lm)}
    yield state
    lm.stop()


def test_only_loopback_port_reachable(state: dict) -> None:
    lm, procs = state["lm"], state["procs"]
    milvus = _milvus(procs)
    pids = {p.pid for p in procs}
    host_listeners = {
        (c.laddr.ip, c.laddr.port)
        for c in psutil.net_connections("inet")
        if c.status == psutil.CONN_LISTEN and c.pid in pids
    }
    assert host_listeners == {("127.0.0.1", lm.port)}
    # Milvus does listen (on *:19530 etc.), but in a network namespace of its own
    assert os.readlink(f"/proc/{milvus.pid}/ns/net") != os.readlink("/proc/self/ns/net")
    inner = Path(f"/proc/{milvus.pid}/net/tcp6").read_text() + Path(f"/proc/{milvus.pid}/net/tcp").read_text()
    assert f":{INNER_PORT:04X} " in inner


def test_insert_and_search(state: dict) -> None:
    from pymilvus import MilvusClient

    client = MilvusClient(uri=state["lm"].uri, timeout=30)
    client.create_collection("lm_test", dimension=DIM, consistency_level="Strong")
    rows = [{"id": i, "vector": [random.random() for _ in range(DIM)]} for i in range(N_ROWS)]
    client.insert("lm_test", rows)
    hits = client.search("lm_test", [rows[7]["vector"]], limit=3)
    assert hits[0][0]["id"] == 7
    state["rows"] = rows
    client.close()


def test_second_start_is_refused(state: dict, tmp_path: Path) -> None:
    lm = state["lm"]
    with pytest.raises(LocalMilvusError, match=f"port {lm.port}.*WORDSIM_LOCAL_MILVUS_PORT"):
        LocalMilvus(port=lm.port, data_dir=tmp_path / "other").start()
    with pytest.raises(LocalMilvusError, match="still running"):
        LocalMilvus(port=free_port(), data_dir=lm.data_dir).start()
    assert lm.running


def test_stop_then_start_keeps_data(state: dict) -> None:
    from pymilvus import MilvusClient

    lm, procs = state["lm"], state["procs"]
    milvus_pid, inner_pid = _milvus(procs).pid, _inner_pid(_milvus(procs))
    lm.stop()
    lm.stop()  # idempotent
    assert not lm.running
    assert not [p for p in procs if p.is_running()], "processes left after stop()"
    assert not [p for p in psutil.process_iter(["exe"]) if str(lm.data_dir) in (p.info["exe"] or "")]

    lm.start(timeout=90)
    client = MilvusClient(uri=lm.uri, timeout=30)
    client.load_collection("lm_test")
    assert client.query("lm_test", filter="", output_fields=["count(*)"])[0]["count(*)"] == N_ROWS
    assert client.search("lm_test", [state["rows"][42]["vector"]], limit=1)[0][0]["id"] == 42
    client.close()

    # Milvus's stray files went to the data dir, not to the host's /tmp/milvus or /run/milvus
    sandbox = lm.data_dir / "sandbox"
    assert (sandbox / "tmp" / "milvus" / f"server_id_{inner_pid}").exists()
    assert list(sandbox.glob("run/**/standalone.pid"))
    changed = {p for p, m in _snapshot().items() if state["before"].get(p) != m}
    our_pids = {inner_pid, str(milvus_pid)}
    ours = [
        p
        for p in changed
        if p.name in {f"server_id_{pid}" for pid in our_pids}
        or (p.name == "standalone.pid" and p.exists() and p.read_text().strip() in our_pids)
    ]
    assert not ours
    others = [
        p
        for p in psutil.process_iter(["name"])
        if p.info["name"] == "milvus" and p.pid not in {q.pid for q in _tree(lm)}
    ]
    assert not changed or others, f"{changed} changed and no other Milvus runs here"
