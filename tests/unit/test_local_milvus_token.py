"""Which token a client uses for the local Milvus, and how its password is stored: fast."""

from __future__ import annotations

import logging
import stat

import pytest

from config import load_settings
from wordsim.local_milvus.protection import _write_private, credentials_path, read_token
from wordsim.store.connection import resolve_token


@pytest.fixture(autouse=True)
def _propagate(monkeypatch: pytest.MonkeyPatch) -> None:
    """caplog listens at the root: let wordsim.* reach it even after configure_logging(), or
    after a Sanic app in this process disabled the loggers that existed then."""
    monkeypatch.setattr(logging.getLogger("wordsim"), "propagate", True)
    monkeypatch.setattr(logging.getLogger("wordsim.settings"), "disabled", False)


def test_stored_password_is_private_and_read_back(tmp_path) -> None:
    assert read_token(tmp_path) is None
    _write_private(credentials_path(tmp_path), "s3cret\n")
    assert stat.S_IMODE(credentials_path(tmp_path).stat().st_mode) == 0o600
    assert read_token(tmp_path) == "root:s3cret"
    assert [p.name for p in tmp_path.iterdir()] == ["credentials"]  # no temporary file left


def test_token_for_the_local_uri_only_unless_set(tmp_path) -> None:
    _write_private(credentials_path(tmp_path), "s3cret")
    local = {"WORDSIM_LOCAL_MILVUS_PORT": "19999", "WORDSIM_LOCAL_MILVUS_DATA_DIR": str(tmp_path)}
    for uri in ("http://127.0.0.1:19999", "http://localhost:19999/"):
        assert resolve_token(load_settings({**local, "WORDSIM_MILVUS_URI": uri})) == "root:s3cret"
    for uri in ("http://127.0.0.1:19530", "http://milvus.example:19999", str(tmp_path / "w.db")):
        assert resolve_token(load_settings({**local, "WORDSIM_MILVUS_URI": uri})) == ""
    given = {**local, "WORDSIM_MILVUS_URI": "http://127.0.0.1:19999", "WORDSIM_MILVUS_TOKEN": "me:pw"}
    assert resolve_token(load_settings(given)) == "me:pw"


def test_retired_variable_is_ignored_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "wordsim.settings"):
        load_settings({"WORDSIM_LOCAL_MILVUS_ALLOW_EXPOSED": "1"})
    assert "WORDSIM_LOCAL_MILVUS_ALLOW_EXPOSED is no longer needed, and ignored" in caplog.text
