"""The settings table: every variable documented in the README, described by ``python config.py``,
old names still honoured."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from config import describe_settings, load_settings
from support import ROOT


def test_readme_documents_every_variable_and_no_other():
    documented = set(re.findall(r"^\| `(WORDSIM_[A-Z0-9_]+)` \|", (ROOT / "README.md").read_text(), re.M))
    assert documented == {name for name, *_ in describe_settings(load_settings(environ={}))}


def test_every_setting_has_a_description():
    assert all(doc for *_, doc in describe_settings(load_settings(environ={})))


def test_config_py_prints_the_values_in_force():
    env = {"PATH": "/usr/bin:/bin", "WORDSIM_PORT": "9001"}
    out = subprocess.run(
        [sys.executable, "config.py"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "WORDSIM_PORT = 9001   (set)" in out.stdout and "WORDSIM_HOST = 127.0.0.1\n" in out.stdout


def test_renamed_variable_still_works():
    assert load_settings(environ={"WORDSIM_TORCH_THREADS": "3"}).encoder_threads == 3
    new_wins = {"WORDSIM_TORCH_THREADS": "3", "WORDSIM_ENCODER_THREADS": "2"}
    assert load_settings(environ=new_wins).encoder_threads == 2


def test_bad_value_names_the_variable():
    with pytest.raises(ValueError, match="WORDSIM_PORT"):
        load_settings(environ={"WORDSIM_PORT": "eighty"})


def test_batches_in_flight_is_bounded_by_the_executor_threads():
    assert load_settings(environ={"WORDSIM_BATCHES_IN_FLIGHT": "1"}).batches_in_flight == 1
    with pytest.raises(ValueError, match="WORDSIM_BATCHES_IN_FLIGHT"):
        load_settings(environ={"WORDSIM_BATCHES_IN_FLIGHT": "3", "WORDSIM_EXECUTOR_THREADS": "2"})
