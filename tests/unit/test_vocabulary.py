"""The vocabulary rule of word2vec-derived collections: artefacts of the training corpus are
left out of the stored words, real words stay, the rule is part of the fingerprint."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from wordsim.ingest import vocabulary
from wordsim.ingest.vector_source import table_words
from wordsim.model.static import StaticEncoder
from wordsim.model.word2vec import write_word2vec

JIEBA = {"AT&T", "C#", "的士", "的黎波里", "学生", "汽车", "的", "音乐"}


@pytest.mark.parametrize(
    ("word", "why"),
    [
        ("</s>", "markup"),
        ("<doc", "markup"),
        ("formula_", "markup"),
        ("公里/小时", "markup"),
        ("100%", "markup"),
        ("curid", "markup"),
        ("text-align", "markup"),
        ("background-color", "markup"),
        ("-", "punctuation"),
        ("$", "punctuation"),
        ("——", "punctuation"),
        ("id", "fragment"),
        ("x", "fragment"),
        ("F-", "fragment"),
        ("的学生", "的 composite"),
        ("的汽车", "的 composite"),
        ("的银行", "的 composite"),  # the rest is a word of the table
    ],
)
def test_artefacts_are_left_out(word, why):
    assert vocabulary.problem(word, JIEBA, {"银行"}) == why


@pytest.mark.parametrize(
    "word",
    ["AT&T", "C#", "的士", "的黎波里", "的黎波里塔尼亚", "iPhone", "NBA", "DNA", "TV", "医生", "学", "的"],
)
def test_real_words_stay(word):
    assert vocabulary.problem(word, JIEBA, {"银行"}) is None


def test_table_words_keep_ids_and_log_what_was_left_out(tmp_path, caplog):
    words = ["</s>", "医生", "的学生", "学生", "id", "NBA", "汽车"]
    path = tmp_path / "t.vec"
    write_word2vec(path, words, np.eye(len(words), 8, dtype=np.float32))
    encoder = StaticEncoder.load(str(path))
    with caplog.at_level(logging.INFO, logger="wordsim.ingest"):
        report = table_words(encoder)
    assert [(w.id, w.text) for w in report.words] == [(1, "医生"), (3, "学生"), (5, "NBA"), (6, "汽车")]
    assert "left out: 1 fragment, 1 markup, 1 的 composite" in caplog.text
    assert encoder.fingerprint.endswith(f"+{vocabulary.RULE}")  # an uncleaned collection is refused
