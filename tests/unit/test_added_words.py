"""Ids of the words added through the API, with fakes: deterministic, after the source's,
exact in JavaScript; an id held by another text is skipped. The words API itself, through
real servers, is in tests/integration/test_words_api.py."""

from __future__ import annotations

from fakes import FakeEditor
from wordsim.store.added_words import _text_filter, candidate_id, is_added_id
from wordsim.store.schema import ADDED_ID_OFFSET, ADDED_ID_SPAN

NEW = "元宇宙打工人"


def test_candidate_ids_are_deterministic_after_the_source_and_exact_in_javascript():
    ids = {candidate_id(NEW, attempt) for attempt in range(4)}
    assert len(ids) == 4 and candidate_id(NEW) == candidate_id(NEW)
    assert all(ADDED_ID_OFFSET <= i < ADDED_ID_OFFSET + ADDED_ID_SPAN < 2**53 for i in ids)
    assert is_added_id(candidate_id(NEW)) and not is_added_id(ADDED_ID_OFFSET - 1)


def test_text_filter_escapes_quotes_and_backslashes():
    assert _text_filter(['a"b', "c\\d", "新词"]) == 'text in ["a\\"b", "c\\\\d", "新词"]'


def test_an_id_held_by_another_text_is_skipped_deterministically():
    first, second = candidate_id("甲"), candidate_id("甲", 1)
    assert FakeEditor({first: "乙"})._allocate(["甲"]) == {"甲": second}
    assert FakeEditor({first: "甲"})._allocate(["甲"]) == {"甲": first}  # its own row: same id
    assert FakeEditor({})._allocate(["甲", "乙"]) == {"甲": first, "乙": candidate_id("乙")}
