"""Helpers the tests share: paths, the test subset of the dictionary, the environment of
child processes, the ingest and the server run as processes, Prometheus text parsed, the
page read in a browser.

A plain module (``pythonpath`` in pyproject.toml puts tests/ on the path), not conftest.py:
pytest imports conftest itself, and importing it again as a module is fragile. It imports
nothing heavy (no model, no Milvus client), so unit tests may use its paths and ids too."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
from prometheus_client.parser import text_string_to_metric_families

from wordsim.netutil import free_port

ROOT = Path(__file__).resolve().parent.parent
# Screenshots of the page tests.
ARTIFACTS = Path(os.environ.get("WORDSIM_TEST_ARTIFACTS", ROOT / "tests" / "artifacts"))
BROWSER_WAIT_S = 30

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


def word2vec_env(env: dict[str, str], db: Path, table: Path, name: str = "semantic") -> dict[str, str]:
    """``env`` serving, on Milvus Lite database ``db``, the default collection and a word2vec
    collection ``name`` read from the vector file ``table`` (ingest with --all-collections)."""
    return {
        **env,
        "WORDSIM_MILVUS_URI": str(db),
        "WORDSIM_COLLECTIONS": f"{name}:word2vec",
        "WORDSIM_WORD2VEC_PATH": str(table),
    }


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


@contextlib.contextmanager
def serving(env: dict[str, str], log_path: Path, timeout: float = 120) -> Iterator[RunningServer]:
    """A server for the ``with`` block (a fixture's ``yield``), stopped after it."""
    server = start_server(env, log_path, timeout)
    try:
        yield server
    finally:
        stop_server(server)


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


def metric_samples(text: str) -> dict[tuple[str, frozenset], float]:
    """(sample name, labels) -> value of a Prometheus text exposition."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


# --- the page in a browser (Selenium is imported by the browser fixture, not here) ---------


def open_page(browser, url: str):
    """Open ``url`` and wait until the page has answered its deep link (or has none)."""
    browser.get(url)
    wait_for(browser, lambda d: d.find_element("tag name", "body").get_attribute("data-ready"))
    return browser


def wait_for(browser, condition):
    """``condition(browser)`` once it is truthy (WebDriverWait), or a timeout."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, BROWSER_WAIT_S).until(lambda d: condition(d))


def words(browser) -> list[str]:
    """The result words of every column, read in one go (each search re-renders them)."""
    return browser.execute_script(
        "return [...document.querySelectorAll('#results .word')].map(e => e.textContent)"
    )


def shown_for(browser) -> str | None:
    """The search whose results are on the page (set once they are rendered)."""
    return browser.execute_script("return document.getElementById('results-box').dataset.for || null")


def query_of(browser) -> dict[str, list[str]]:
    return parse_qs(urlparse(browser.current_url).query)
