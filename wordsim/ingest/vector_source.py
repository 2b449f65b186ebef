"""What an ingest loads, by model kind: the words and the model that encodes them.

``bert``: a word list (jieba's ``dict.txt`` by default, id = line number), encoded by the
BERT-family model. ``word2vec``: the words of the vector file itself, id = 0-based
position in the file, each stored with its own vector, the table's artefacts left out
(``vocabulary``: the rule is part of the collection's fingerprint); jieba's frequency and part of
speech are stored where the word is in jieba's dictionary (0 and "" elsewhere).
"""

from __future__ import annotations

import logging
from collections import Counter
from functools import cached_property
from pathlib import Path

from wordsim.ingest import vocabulary
from wordsim.ingest.wordlist import SourceReport, Word, jieba_dict_path, read_words, selected, text_problem
from wordsim.model.kinds import kind_of, open_encoder
from wordsim.settings import Settings

log = logging.getLogger("wordsim.ingest")


class IngestModel:
    """The model of one ingest run: its fingerprint known at once (a resumed, complete
    load needs no model), its encoder opened on first use and then reused, so that a
    rebuild (load, then carry the added words over) loads the model once."""

    def __init__(self, settings: Settings, kind: str, *, source=None, encoder=None) -> None:
        self.settings, self.kind, self.source = settings, kind, source
        if encoder is not None:
            self.encoder = encoder  # fills the cached property

    @property
    def fingerprint(self) -> str:
        return (self.source or self.encoder).fingerprint

    @cached_property
    def encoder(self):
        return open_encoder(self.settings, self.kind, source=self.source)


def words_and_model(settings: Settings, options) -> tuple[SourceReport, IngestModel]:
    """(SourceReport, model) for ``options``."""
    kind = options.kind or kind_of(settings, settings.collection)
    if kind in ("word2vec", "fused"):
        # The table is (part of) the word list as well as of the encoder: read once, here.
        encoder = open_encoder(settings, kind, location=options.source)
        if kind == "word2vec":
            report = table_words(encoder, options.limit, options.id_ranges)
        else:
            report = fused_words(encoder.static, options.limit, options.id_ranges)
        return report, IngestModel(settings, kind, encoder=encoder)
    if kind == "sentence":
        path = options.source or jieba_dict_path()
        report = read_words(path, limit=options.limit, id_ranges=options.id_ranges)
        return report, IngestModel(settings, kind)
    from wordsim.model.source import resolve_model

    report = read_words(options.source or jieba_dict_path(), limit=options.limit, id_ranges=options.id_ranges)
    return report, IngestModel(settings, kind, source=resolve_model(settings))


def table_words(
    encoder, limit: int | None = None, id_ranges=None, *, offset: int = 0, exclude=(), report=None
) -> SourceReport:
    """The vector file's clean words (``vocabulary.problem``) as a word list: id = ``offset``
    + position, jieba's freq/pos attached, the words of ``exclude`` skipped. What the
    cleaning left out is counted in the log."""
    jieba = {w.text: w for w in read_words(jieba_dict_path()).words}
    report = report or SourceReport(path=Path(encoder.source.location))
    table = encoder.table.index
    dropped: Counter = Counter()
    kept = 0
    for i, text in selected(encoder.table.words, report, limit, id_ranges):
        problem = "blank word" if not text.strip() else text_problem(text)
        if problem:
            report.bad_lines.append((offset + i + 1, problem))
            continue
        why = vocabulary.problem(text, jieba, table)
        if why:
            dropped[why] += 1
            continue
        kept += 1
        if text in exclude:
            continue
        known = jieba.get(text)
        report.words.append(Word(offset + i, text, known.freq if known else 0, known.pos if known else ""))
    counts = ", ".join(f"{n} {why}" for why, n in sorted(dropped.items())) or "none"
    log.info("vocabulary %s: %d words kept, left out: %s", vocabulary.RULE, kept, counts)
    return report


def fused_words(static, limit: int | None = None, id_ranges=None) -> SourceReport:
    """Every word of jieba's dictionary (id = line number, as in the default collection), then
    the table's clean words jieba lacks, id = the dictionary's line count + table position
    (stable across rebuilds). ``limit``/``id_ranges`` select over that one id sequence."""
    dictionary = read_words(jieba_dict_path())
    lines = dictionary.lines
    report = read_words(dictionary.path, limit=limit, id_ranges=id_ranges)
    if limit is not None and limit <= lines:
        return report
    ranges = [(max(a, lines) - lines, b - lines) for a, b in id_ranges or [] if b > lines]
    if id_ranges and not ranges:
        return report
    rest = None if limit is None else limit - lines
    exclude = {w.text for w in dictionary.words}
    return table_words(static, rest, ranges or None, offset=lines, exclude=exclude, report=report)
