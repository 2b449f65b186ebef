"""What an ingest loads, by model kind: the words and the model that encodes them.

``bert``: a word list (jieba's ``dict.txt`` by default, id = line number), encoded by the
BERT-family model. ``word2vec``: the words of the vector file itself, id = 0-based
position in the file, each stored with its own vector; jieba's frequency and part of
speech are stored where the word is in jieba's dictionary (0 and "" elsewhere).
"""

from __future__ import annotations

import logging
from pathlib import Path

from wordsim.ingest.wordlist import SourceReport, Word, jieba_dict_path, read_words
from wordsim.model.kinds import kind_of
from wordsim.settings import Settings
from wordsim.store.schema import TEXT_MAX_BYTES

log = logging.getLogger("wordsim.ingest")


def words_and_model(settings: Settings, options):
    """(SourceReport, model) for ``options``; the model has a ``fingerprint``, and
    :func:`ingest_encoder` turns it into an encoder."""
    kind = options.kind or kind_of(settings, settings.collection)
    if kind == "word2vec":
        from wordsim.model.static import StaticEncoder

        encoder = StaticEncoder.load(str(options.source or settings.word2vec_path))
        return table_words(encoder, options.limit, options.id_ranges), encoder
    from wordsim.model.source import resolve_model

    source = options.source or jieba_dict_path()
    return read_words(source, limit=options.limit, id_ranges=options.id_ranges), resolve_model(settings)


def ingest_encoder(settings: Settings, model):
    """The encoder for ``model`` (a static table is its own encoder)."""
    if hasattr(model, "encode"):
        return model
    from wordsim.model.loader import encoder_for

    return encoder_for(settings, model)


def table_words(encoder, limit: int | None = None, id_ranges=None) -> SourceReport:
    """The vector file's words as a word list: id = position, jieba's freq/pos attached."""
    jieba = {w.text: w for w in read_words(jieba_dict_path()).words}
    report = SourceReport(path=Path(encoder.source.location))
    for i, text in enumerate(encoder.table.words):
        if limit is not None and i >= limit:
            break
        report.lines += 1
        if id_ranges and not any(a <= i < b for a, b in id_ranges):
            continue
        if not text.strip():
            report.bad_lines.append((i + 1, "blank word"))
            continue
        if len(text.encode("utf-8")) > TEXT_MAX_BYTES:
            report.bad_lines.append((i + 1, f"word longer than {TEXT_MAX_BYTES} UTF-8 bytes"))
            continue
        known = jieba.get(text)
        report.words.append(Word(i, text, known.freq if known else 0, known.pos if known else ""))
    in_jieba = sum(1 for w in report.words if w.text in jieba)
    log.info("%d of the table's words are in jieba's dictionary (freq/pos stored)", in_jieba)
    return report
