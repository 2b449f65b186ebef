"""Word management: ``POST /words`` adds words, ``DELETE /words/{id}`` removes an added one.

Both act on every served collection (each encodes an added word its own way); both need
the API key; while none is configured they answer 403 (a service open to
anyone must not let anyone rewrite its dictionary). How ids are chosen and why it is
safe with several workers: ``wordsim/store/added_words.py``.

Only added words can be deleted (409 for the source's): the source's words belong to the
ingest, which would write a deleted one back on its next resumed run; remove a word from
the source and rebuild instead.
"""

from __future__ import annotations

import logging
import unicodedata

from sanic import Request, response
from sanic.exceptions import BadRequest, Forbidden, NotFound, SanicException, ServiceUnavailable

from wordsim.service import metrics
from wordsim.service import params as p
from wordsim.service.admission import work_of
from wordsim.service.errors import UNAVAILABLE
from wordsim.service.lifecycle import run_blocking
from wordsim.service.render import dumps
from wordsim.service.served import ServedCollection, default_of
from wordsim.store.added_words import WordEditor, is_added_id
from wordsim.store.schema import ADDED_ID_OFFSET, ADDED_ID_SPAN, TEXT_MAX_BYTES

log = logging.getLogger("wordsim.server")

WORDS_EXAMPLE = '{"words": ["新词"]}'


class Conflict(SanicException):
    status_code = 409
    quiet = True


def _require_key(request: Request) -> None:
    # A wrong or missing key was already answered 401 by the middleware.
    if not request.app.ctx.settings.api_key:
        raise Forbidden("word management is disabled: set WORDSIM_API_KEY to enable it")


def _editor(served: ServedCollection) -> WordEditor:
    if served.editor is None:
        served.editor = WordEditor(served.store)
    return served.editor


def parse_words(request: Request) -> list[str]:
    """The normalised, validated words of ``{"words": [...]}``, in order."""
    settings = request.app.ctx.settings
    words = p.json_object(request, WORDS_EXAMPLE).get("words")
    texts = []
    for i, raw in enumerate(p.bounded_list(words, "words", settings, "words", WORDS_EXAMPLE)):
        text = p.valid_text(raw, f"words[{i}]", settings)
        invisible = next((ch for ch in text if unicodedata.category(ch) == "Cf"), None)
        if invisible is not None:
            # A query may hold them (they are read as nothing), but a stored word with one is
            # a look-alike of the word without it (教\u200d师 beside 教师).
            raise BadRequest(
                f"words[{i}] contains U+{ord(invisible):04X}, an invisible format character: "
                "add the word without it"
            )
        if len(text.encode("utf-8")) > TEXT_MAX_BYTES:
            raise BadRequest(f"words[{i}] is longer than {TEXT_MAX_BYTES} bytes in UTF-8")
        texts.append(text)
    return texts


def _unavailable(served: ServedCollection, exc: Exception) -> ServiceUnavailable:
    served.meter.words_errors.inc()
    log.warning("word management: Milvus failed: %s", str(exc)[:200])
    return ServiceUnavailable(UNAVAILABLE)


async def add_words(request: Request) -> response.HTTPResponse:
    """Add words to every served collection, each encoding them its own way; a word already
    present answers with its id. The answer is the default collection's."""
    _require_key(request)
    texts = parse_words(request)
    distinct = list(dict.fromkeys(texts))
    collections = list(request.app.ctx.collections.values())
    answers = {}
    async with request.app.ctx.admission.work(work_of(len(distinct) * len(collections), 1)):
        for served in collections:
            answers[served.name] = await _add_to(request, served, distinct)
    words = answers[default_of(request.app.ctx).name]
    by_text = {w.text: w for w in words}
    body = {"words": [{"id": by_text[t].id, "text": t, "added": by_text[t].added} for t in texts]}
    return response.json(body, dumps=dumps)


async def _add_to(request: Request, served: ServedCollection, distinct: list[str]):
    def encode(batch: list[str]):
        return metrics.timed(served.meter.encoder_seconds, served.encoder.encode, batch)

    try:
        # One add at a time per collection and worker: concurrent adds of a word would each see
        # it absent and both answer added:true (the row is the same: its id comes from its text).
        async with served.adding:
            words = await run_blocking(request.app, _editor(served).add, distinct, encode)
    except SanicException:
        raise
    except Exception as exc:
        raise _unavailable(served, exc) from None
    if any(w.added for w in words):
        # This worker's cache now; the others' when their refresh loop sees the new version.
        served.cache.clear()
        log.info("added %d words to %s through the API", sum(w.added for w in words), served.name)
    return words


async def delete_word(request: Request, word_id: int) -> response.HTTPResponse:
    """Delete a word added through ``POST /words``."""
    _require_key(request)
    if not 0 <= word_id < ADDED_ID_OFFSET + ADDED_ID_SPAN:  # no such id can exist
        raise NotFound(f"no word has id {word_id}")
    served = default_of(request.app.ctx)
    editor = _editor(served)
    try:
        if not is_added_id(word_id):
            if await run_blocking(request.app, editor.texts_of, [word_id]):
                raise Conflict(
                    "this word comes from the source: only words added through POST /words can be "
                    "deleted (remove it from the source and rebuild with insert_data_to_milvus.py --drop)"
                )
            raise NotFound(f"no word has id {word_id}")
        text = await run_blocking(request.app, editor.delete, word_id)
    except SanicException:
        raise
    except Exception as exc:
        raise _unavailable(served, exc) from None
    if text is None:
        raise NotFound(f"no word has id {word_id}")
    served.cache.clear()
    for other in list(request.app.ctx.collections.values())[1:]:
        # The same word added to the other collections (same text, so usually the same id).
        try:
            wid = (await run_blocking(request.app, _editor(other).find, [text])).get(text)
            if wid is not None and is_added_id(wid):  # never a word of that collection's source
                await run_blocking(request.app, _editor(other).delete, wid)
                other.cache.clear()
        except Exception as exc:
            raise _unavailable(other, exc) from None
    log.info("deleted added word %d through the API", word_id)
    return response.json({"deleted": {"id": word_id, "text": text}}, dumps=dumps)
