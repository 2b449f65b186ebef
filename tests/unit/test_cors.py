"""CORS settings: WORDSIM_CORS_ORIGINS parsed and checked. Against a real server in
tests/integration/test_cors_http.py."""

from __future__ import annotations

import pytest

from wordsim.service.cors import parse_origins
from wordsim.settings import load_settings

ALLOWED, OTHER = "http://localhost:5173", "https://app.example.com"


def test_origins_are_parsed_and_checked():
    assert parse_origins(f" {ALLOWED} ,{OTHER},") == {ALLOWED, OTHER}
    assert parse_origins("") == frozenset()
    assert load_settings(environ={"WORDSIM_CORS_ORIGINS": "*"}).cors_origins == "*"
    for bad in ["localhost:5173", "https://app.example.com/", "ftp://x", "https://a.example/path"]:
        with pytest.raises(ValueError, match="WORDSIM_CORS_ORIGINS"):
            load_settings(environ={"WORDSIM_CORS_ORIGINS": bad})
